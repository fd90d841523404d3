"""Checkers for the auto-checked exercises.

A checker takes the learner's function, runs it on several cases and
returns a ``Report``. Shown in a notebook, the report says for each case
what is right or wrong (which shape, which value) with a hint, but never the
solution's code. A function that still raises ``NotImplementedError`` (the
stub of the student edition) is reported as "not solved yet".
"""
import functools

import numpy as np
from mxnet import autograd, nd

from d2lfcn.convolution import trans_conv
from d2lfcn.upsampling import (bilinear_kernel, upsample_bilinear,
                               upsample_nearest)


class Report:
    """The outcome of one checker: a status and one line per case.

    status is 'solved', 'wrong' or 'not solved yet'; ``passed`` is True only
    when every case was right.
    """

    def __init__(self, exercise):
        self.exercise = exercise
        self.lines = []
        self.status = 'solved'

    @property
    def passed(self):
        return self.status == 'solved'

    def __repr__(self):
        verdict = {'solved': 'solved, every case is right',
                   'wrong': 'not yet right, see the cases marked ✗',
                   'not solved yet': 'not solved yet'}[self.status]
        return '\n'.join([f'{self.exercise}: {verdict}'] + self.lines)


def _check(exercise, fn, cases):
    """Run ``problem = case(fn)`` for each (description, case); None = right."""
    report = Report(exercise)
    if not callable(fn):
        report.status = 'wrong'
        report.lines.append(f'  ✗ expected a function, got '
                            f'{type(fn).__name__}: pass the function itself, '
                            f'without calling it')
        return report
    for description, case in cases:
        try:
            problem = case(fn)
        except NotImplementedError:
            report.status = 'not solved yet'
            report.lines = ['  Replace the line `raise NotImplementedError` '
                            'with your code, run that cell, then this one.']
            return report
        except Exception as e:  # the learner's code failed: say how
            problem = f'your function raised {type(e).__name__}: {e}'
        if problem is None:
            report.lines.append(f'  ✓ {description}')
        else:
            report.status = 'wrong'
            report.lines.append(f'  ✗ {description}: {problem}')
    return report


def _compare(got, expected, hints=()):
    """None if `got` equals `expected` (to 1e-5), else what differs.

    hints: (array, message) pairs; if `got` equals one of those arrays, the
    message (the diagnosis of a typical mistake) is added.
    """
    if hasattr(got, 'asnumpy'):
        got = got.asnumpy()
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f'expected an array, got {type(got).__name__}'
    if got.shape != expected.shape:
        return f'expected shape {expected.shape}, got {got.shape}'
    if np.allclose(got, expected, atol=1e-5):
        return None
    err = np.abs(got - expected)
    where = np.unravel_index(err.argmax(), err.shape)
    problem = (f'shape {got.shape} is right but values differ: at index '
               f'{tuple(int(i) for i in where)} expected '
               f'{expected[where]:.4f}, got {got[where]:.4f}')
    for wrong, message in hints:
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=1e-5):
            return problem + '. ' + message
    return problem


def _rand(rng, *shape):
    return rng.integers(-3, 4, size=shape).astype(np.float64)


def _deconv(X, K, stride, padding, output_padding):
    """Reference: MXNet's own transposed convolution, one channel, no bias."""
    Y = nd.Deconvolution(nd.array(X[None, None]), nd.array(K[None, None]),
                         kernel=K.shape, stride=(stride, stride),
                         pad=(padding, padding),
                         adj=(output_padding, output_padding),
                         num_filter=1, no_bias=True)
    return Y[0, 0].asnumpy().astype(np.float64)


def _extra_rows_top_left(X, K, stride, padding, output_padding):
    """The mistake of adding the output_padding rows/columns at the top and
    left: the uncropped output, cropped `output_padding` too early."""
    full = np.pad(_deconv(X, K, stride, 0, 0), stride)  # room on both sides
    start = stride + padding - output_padding
    h = full.shape[0] - 2 * stride - 2 * padding + output_padding
    w = full.shape[1] - 2 * stride - 2 * padding + output_padding
    return full[start:start + h, start:start + w]


def check_trans_conv_by_zero_insertion(fn):
    """Exercise 1.1: fn(X, K, stride, padding, output_padding) must equal a
    Gluon Conv2DTranspose (one channel, no bias) with those settings.

    The learner writes the general transposed convolution from corr2d alone:
    spread the input out with zeros, pad it (or crop it, when padding >
    k - 1) unevenly when output_padding > 0, and correlate with the flipped
    kernel. The reference is MXNet's Deconvolution operator.
    """
    rng = np.random.default_rng(1)
    cases = []
    for (n_h, n_w), (k_h, k_w), s, p, op in [((3, 3), (2, 2), 1, 0, 0),
                                             ((2, 2), (3, 3), 2, 0, 0),
                                             ((3, 4), (4, 4), 2, 1, 1),
                                             ((4, 3), (3, 2), 3, 1, 2),
                                             ((3, 3), (2, 3), 3, 2, 1),
                                             ((2, 3), (1, 1), 2, 1, 1)]:
        X, K = _rand(rng, n_h, n_w), _rand(rng, k_h, k_w)
        too_much = p > min(k_h, k_w) - 1

        def case(fn, X=X, K=K, s=s, p=p, op=op, too_much=too_much):
            expected = _deconv(X, K, s, p, op)
            try:
                got = fn(X.copy(), K.copy(), s, p, op)
            except NotImplementedError:
                raise
            except Exception as e:
                problem = f'your function raised {type(e).__name__}: {e}'
                if too_much:
                    problem += ('. Here padding > kernel_size - 1 on some '
                                'axis, so kernel_size - 1 - padding is '
                                'negative there: take rows or columns away '
                                'instead of adding zeros')
                return problem
            got_shape = np.shape(got.asnumpy() if hasattr(got, 'asnumpy')
                                 else got)
            problem = _compare(got, expected, [
                (_deconv(X, K[::-1, ::-1], s, p, op),
                 'Your result is what the unflipped kernel gives: the output '
                 'pixel that K[0, 0] lands on is reached from the other side '
                 'in a correlation'),
                (_extra_rows_top_left(X, K, s, p, op),
                 'The output_padding rows and columns belong at the bottom '
                 'and right: they are the ones that cropping the padding '
                 'would remove there')])
            if problem and len(got_shape) == 2 and op:
                dh, dw = (g - e for g, e in zip(got_shape, expected.shape))
                if dh == dw == -op:
                    problem += ('. output_padding adds that many rows at the '
                                'bottom and columns at the right')
                elif dh == dw == op:
                    problem += ('. output_padding is added on one side only, '
                                'at the bottom and right')
            return problem
        cases.append((f'X {n_h}x{n_w}, K {k_h}x{k_w}, stride {s}, padding '
                      f'{p}{" > k - 1" if too_much else ""}, output_padding '
                      f'{op}', case))
    return _check('Exercise 1.1 (transposed convolution by zero insertion)',
                  fn, cases)


def _conv_input_grad(dY, K, input_shape, stride, padding):
    """Reference: d(sum(dY * conv(X)))/dX by MXNet autograd."""
    X = nd.zeros((1, 1) + tuple(input_shape))
    X.attach_grad()
    with autograd.record():
        Y = nd.Convolution(X, nd.array(K[None, None]), kernel=K.shape,
                           stride=(stride, stride), pad=(padding, padding),
                           num_filter=1, no_bias=True)
    Y.backward(nd.array(dY[None, None]))
    return X.grad[0, 0].asnumpy().astype(np.float64)


def check_conv_input_grad(fn):
    """Exercise 1.2: fn(dY, K, input_shape, stride, padding) returns dL/dX.

    L is a loss whose gradient with respect to the convolution's output is
    dY; the answer is checked against MXNet's autograd, including input
    sizes where the stride does not divide (n + 2p - k).
    """
    rng = np.random.default_rng(2)
    cases = []
    for shape, (k_h, k_w), s, p in [((4, 4), (2, 2), 1, 0),
                                    ((5, 5), (3, 3), 2, 1),
                                    ((6, 7), (3, 3), 2, 0),
                                    ((7, 6), (2, 3), 3, 1)]:
        K = _rand(rng, k_h, k_w)
        o_h = (shape[0] + 2 * p - k_h) // s + 1
        o_w = (shape[1] + 2 * p - k_w) // s + 1
        dY = _rand(rng, o_h, o_w)

        def case(fn, dY=dY, K=K, shape=shape, s=s, p=p):
            expected = _conv_input_grad(dY, K, shape, s, p)
            got = fn(dY.copy(), K.copy(), shape, s, p)
            problem = _compare(got, expected)
            got_shape = np.shape(got.asnumpy() if hasattr(got, 'asnumpy')
                                 else got)
            if problem and got_shape != expected.shape:
                problem += ('. The gradient has the shape of the input. When '
                            'the stride does not divide n + 2p - k, the '
                            'transposed convolution comes out (n + 2p - k) mod '
                            's rows or columns short at the bottom or right: '
                            'find where those rows are before padding is '
                            'cropped (with padding 0 they are all zeros)')
            return problem
        cases.append((f'input {shape[0]}x{shape[1]}, K {k_h}x{k_w}, '
                      f'stride {s}, padding {p}', case))
    return _check('Exercise 1.2 (gradient of a convolution)', fn, cases)


def _overlap_counts(kernel_size, stride, n):
    """Reference: a transposed convolution of ones with a kernel of ones."""
    ones = np.ones((1, n))
    return trans_conv(ones, np.ones((1, kernel_size)), stride)[0]


def _copies(count):
    return f'{count:g} cop{"y" if count == 1 else "ies"}'


def check_overlap_counts(fn):
    """Exercise 2.1: fn(kernel_size, stride, n) returns, for each of the
    (n - 1) * stride + kernel_size output pixels of a 1-D transposed
    convolution of n input pixels (no padding), how many input pixels' kernel
    copies cover it."""
    cases = []
    for k, s, n in ((4, 2, 5), (3, 2, 5), (5, 3, 4), (6, 4, 3), (2, 3, 4),
                    (1, 2, 3), (7, 3, 1), (64, 32, 3)):
        def case(fn, k=k, s=s, n=n):
            expected = _overlap_counts(k, s, n)
            got = fn(k, s, n)
            try:
                got = np.asarray(got.asnumpy() if hasattr(got, 'asnumpy')
                                 else got, dtype=np.float64)
            except (TypeError, ValueError):
                return f'expected an array of counts, got {type(got).__name__}'
            if got.ndim != 1:
                return f'expected a 1-D array, got shape {got.shape}'
            if got.size != expected.size:
                return (f'expected {expected.size} counts, one per output '
                        f'pixel ((n - 1) * stride + kernel_size, chapter 1), '
                        f'got {got.size}')
            if np.array_equal(got, expected):
                return None
            x = int(np.flatnonzero(got != expected)[0])
            problem = (f'at output pixel {x} expected {_copies(expected[x])}, '
                       f'got {got[x]:g}')
            for other in (k - 1, k + 1):
                if other >= 1:
                    wrong = np.zeros(expected.size)
                    counts = _overlap_counts(other, s, n)[:expected.size]
                    wrong[:counts.size] = counts
                    if np.array_equal(got, wrong):
                        return problem + ('. Each copy covers exactly '
                                          'kernel_size pixels, starting at '
                                          'input index * stride')
            inner = slice(k - 1, expected.size - k + 1)
            if expected[inner].size and np.array_equal(got[inner],
                                                       expected[inner]):
                return problem + ('. The interior is right; near the two '
                                  'ends fewer copies exist: only input '
                                  'pixels 0 to n - 1 have one')
            if expected[inner].size > 1 and np.ptp(expected[inner]) > 0 \
                    and np.ptp(got[inner]) == 0:
                return problem + (f'. Your interior counts do not change '
                                  f'with the position, but {k} is not a '
                                  f'multiple of {s}: output pixels of '
                                  f'different phases (position mod stride) '
                                  f'are covered by different numbers of '
                                  f'copies')
            return problem
        cases.append((f'kernel_size {k}, stride {s}, n {n}', case))
    return _check('Exercise 2.1 (overlap counts and the checkerboard)', fn,
                  cases)


def check_nearest_kernel(fn):
    """Former exercise 2.1: fn(scale) returns a kernel K with which
    trans_conv(X, K, stride=scale) == upsample_nearest(X, scale).

    No chapter calls it any more (chapter 2 now shows this kernel in its
    text); it stays because book/intro.md names it as an example.
    """
    rng = np.random.default_rng(3)
    cases = []
    for scale in (1, 2, 3, 4):
        X = _rand(rng, 3, 4)

        def case(fn, X=X, scale=scale):
            K = fn(scale)
            K = np.asarray(K.asnumpy() if hasattr(K, 'asnumpy') else K,
                           dtype=np.float64)
            if K.ndim != 2:
                return f'expected a 2-D kernel, got shape {K.shape}'
            if K.shape != (scale, scale):
                return (f'got a kernel of shape {K.shape}: with stride '
                        f'{scale} its copies overlap or leave gaps, while '
                        f'nearest neighbour copies each pixel into one '
                        f'{scale}x{scale} block')
            return _compare(trans_conv(X, K, stride=scale),
                            upsample_nearest(X, scale))
        cases.append((f'scale {scale}', case))
    return _check('Exercise 2.1 (nearest neighbour as a transposed '
                  'convolution)', fn, cases)


def check_bilinear_params(fn):
    """Exercise 2.2: fn(scale) returns (kernel_size, padding) such that a
    stride-`scale` transposed convolution with bilinear_kernel(1, 1, k)
    upsamples by exactly `scale` and equals upsample_bilinear away from the
    border, for odd scales as well as even ones."""
    rng = np.random.default_rng(4)
    cases = []
    for scale in (2, 3, 4, 5, 8):
        X = rng.random((5, 6))

        def case(fn, X=X, scale=scale):
            answer = fn(scale)
            if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
                return f'expected a pair (kernel_size, padding), got {answer!r}'
            k, p = (int(v) for v in answer)
            if k < 1 or p < 0:
                return f'kernel_size must be >= 1 and padding >= 0, got {k}, {p}'
            size = (X.shape[0] - 1) * scale + k - 2 * p
            if size != X.shape[0] * scale:
                return (f'expected {X.shape[0] * scale} output rows for '
                        f'{X.shape[0]} input rows, got (n-1)*s + k - 2p = '
                        f'{size} with kernel_size={k}, padding={p}')
            K = bilinear_kernel(1, 1, k)[0, 0].asnumpy()
            got = trans_conv(X, K, scale, p)
            b = scale // 2  # border rows that would need pixels outside X
            inner = (slice(b, got.shape[0] - b), slice(b, got.shape[1] - b))
            problem = _compare(got[inner], upsample_bilinear(X, scale)[inner])
            if problem:
                problem += (f' (away from a border of {b} pixels). The tent '
                            f'must be centred on the pixel it spreads')
            return problem
        cases.append((f'scale {scale}', case))
    return _check('Exercise 2.2 (bilinear kernel for any scale)', fn, cases)


def check_border_fix(fn):
    """Exercise 2.3: fn(img, scale) upsamples a 2-D image with a bilinear
    transposed convolution (even scale) and matches upsample_bilinear
    everywhere, border included."""
    rng = np.random.default_rng(5)
    cases = []
    for scale, shape in ((2, (4, 5)), (4, (3, 3)), (2, (1, 6))):
        X = rng.random(shape) + 0.5
        K = bilinear_kernel(1, 1, 2 * scale)[0, 0].asnumpy()
        plain = trans_conv(X, K, scale, scale // 2)

        def case(fn, X=X, scale=scale, plain=plain):
            return _compare(fn(X.copy(), scale), upsample_bilinear(X, scale), [
                (plain, 'This is the plain transposed convolution: its '
                        'border pixels get fewer kernel contributions than '
                        'the weights of a bilinear resize add up to')])
        cases.append((f'{shape[0]}x{shape[1]} image, scale {scale}', case))
    return _check('Exercise 2.3 (a border-correct bilinear upsampling)',
                  fn, cases)


# Chapter 3: semantic segmentation data --------------------------------------

def _labels_case(rng, shapes, with_ignore=True, classes=21):
    labels = []
    for h, w in shapes:
        label = rng.integers(0, classes, size=(h, w)).astype(np.uint8)
        if with_ignore:
            label[rng.random((h, w)) < 0.2] = 255
        labels.append(label)
    return labels


def _median_frequency(labels, num_classes, mistake=None):
    """Median-frequency class weights, or one of their typical mistakes:
    'all images' (freq over every image's pixels), 'ignore counted' (255 in
    the totals), 'median over all' (absent classes in the median), 'mean',
    'inverse' (1 / freq), 'upside down' (freq / median)."""
    pixels, seen_in = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        label = np.asarray(label)
        valid = label[label != 255].astype(np.int64)
        counts = np.bincount(valid, minlength=num_classes)[:num_classes]
        pixels += counts
        total = label.size if mistake == 'ignore counted' else valid.size
        seen_in += total if mistake == 'all images' else (counts > 0) * total
    present = pixels > 0
    freq = np.zeros(num_classes)
    freq[present] = pixels[present] / seen_in[present]
    middle = {'mean': np.mean(freq[present]),
              'median over all': np.median(freq)}.get(
                  mistake, np.median(freq[present]))
    weights = np.zeros(num_classes)
    if mistake == 'inverse':
        weights[present] = 1 / freq[present]
    elif mistake == 'upside down':
        weights[present] = freq[present] / middle
    else:
        weights[present] = middle / freq[present]
    return weights


def check_median_frequency_weights(fn):
    """Exercise 3.1: fn(labels, num_classes) returns the median-frequency
    weight of every class (Eigen & Fergus): median(freq) / freq(c), where
    freq(c) is the number of pixels of class c divided by the number of
    (not ignored) pixels of the images in which c occurs, the median is
    taken over the classes that occur, a class that never occurs gets 0,
    and pixels labelled 255 count nowhere."""
    rng = np.random.default_rng(31)
    one_class_rare = [np.zeros((4, 6), np.uint8), np.ones((5, 5), np.uint8),
                      np.array([[2, 2, 0], [0, 0, 0]], np.uint8)]
    absent = _labels_case(rng, [(6, 5), (3, 8)], False, classes=3)
    with_ignore = [label.copy() for label in one_class_rare]
    with_ignore[0][:2] = 255
    with_ignore[2][1, 2] = 255
    cases = []
    for description, labels, num_classes in [
            ('three labels, 3 classes, no ignore pixels', one_class_rare, 3),
            ('the same with ignore pixels (255)', with_ignore, 3),
            ('classes 3 and 4 never occur', absent, 5),
            ('five labels with ignore pixels, 6 of 21 classes occur',
             _labels_case(rng, [(7, 9), (5, 5), (8, 3), (6, 6), (4, 10)],
                          True, classes=6), 21)]:

        def case(fn, labels=labels, num_classes=num_classes):
            expected = _median_frequency(labels, num_classes)
            got = fn([label.copy() for label in labels], num_classes)
            got = np.asarray(got.asnumpy() if hasattr(got, 'asnumpy')
                             else got, dtype=np.float64)
            if got.shape != expected.shape:
                return f'expected shape {expected.shape}, got {got.shape}'
            if not np.isfinite(got).all():
                return ('some weights are not finite (inf or nan): a class '
                        'that never occurs gets weight 0, and it is left '
                        'out of the median')
            messages = {
                'all images': 'The frequency of class c is measured over '
                              'the images in which c occurs, not over every '
                              'image',
                'ignore counted': 'Pixels labelled 255 belong to no class: '
                                  'leave them out of the totals too',
                'median over all': 'The median is taken over the classes '
                                   'that occur; absent classes would drag '
                                   'it down',
                'mean': 'This is the mean of the frequencies, not their '
                        'median',
                'inverse': 'weights of 1 / freq(c) are right up to a '
                           'factor: divide the median frequency by freq(c), '
                           'so that a class of median frequency gets 1',
                'upside down': 'Rare classes must get the large weights'}
            return _compare(got, expected, [
                (_median_frequency(labels, num_classes, m), text)
                for m, text in messages.items()])
        cases.append((description, case))
    return _check('Exercise 3.1 (median-frequency class weights)', fn, cases)


def _crop_counts(height, width, crop_height, crop_width):
    """How many of the windows voc_rand_crop can pick contain each pixel,
    and how many windows there are: every window placed once."""
    counts = np.zeros((height, width))
    tops, lefts = height - crop_height + 1, width - crop_width + 1
    for top in range(tops):
        for left in range(lefts):
            counts[top:top + crop_height, left:left + crop_width] += 1
    return counts, tops * lefts


def _crop_coverage_off_by_one(height, width, crop_height, crop_width):
    """The coverage computed with h - height window tops instead of
    h - height + 1 (when there are at least two)."""
    def along(n, c):
        if n == c:
            return np.ones(n)
        i = np.arange(n)
        return (np.minimum(i, n - c - 1) - np.maximum(0, i - c + 1) + 1) \
            .clip(0) / (n - c)
    return np.outer(along(height, crop_height), along(width, crop_width))


def check_crop_coverage(fn):
    """Exercise 3.2: fn(height, width, crop_height, crop_width) returns the
    (height, width) array of the probabilities that a random window of
    voc_rand_crop contains each pixel, checked against all the windows."""
    cases = []
    for h, w, ch, cw in ((5, 7, 3, 4), (6, 6, 6, 6), (4, 9, 1, 1),
                         (8, 5, 2, 5), (165, 250, 128, 160)):

        def case(fn, h=h, w=w, ch=ch, cw=cw):
            counts, windows = _crop_counts(h, w, ch, cw)
            expected = counts / windows
            got = fn(h, w, ch, cw)
            got = np.asarray(got.asnumpy() if hasattr(got, 'asnumpy')
                             else got, dtype=np.float64)
            if got.shape == (w, h) and h != w:
                return (f'expected shape {(h, w)} (height, width), got '
                        f'{got.shape}: height and width are swapped')
            return _compare(got, expected, [
                (counts, 'These are numbers of windows; a probability '
                         'divides them by the number of windows'),
                (np.full((h, w), ch * cw / (h * w)),
                 'Every pixel got the same probability, the crop\'s share '
                 'of the image; but a pixel near the border is in fewer '
                 'windows than one in the middle'),
                (_crop_coverage_off_by_one(h, w, ch, cw),
                 'Count the window positions again: how many different '
                 'tops can voc_rand_crop draw? (np.random.randint leaves '
                 'out its upper bound)')])
        cases.append((f'{h}x{w} image, {ch}x{cw} crop', case))
    return _check('Exercise 3.2 (how often a random crop sees a pixel)', fn,
                  cases)

# Chapter 5: training, the masked loss and the metrics ------------------------

def _iou_parts(n):
    n = np.asarray(n, dtype=np.float64)
    hits, truth, guess = np.diag(n), n.sum(axis=1), n.sum(axis=0)
    return hits, truth, guess, truth + guess - hits


def _compare_number(got, expected, hints=()):
    """None if the number `got` equals `expected` (to 1e-6), else why not."""
    got = float(np.asarray(got.asnumpy() if hasattr(got, 'asnumpy') else got,
                           dtype=np.float64).reshape(()))
    if np.isclose(got, expected, rtol=0, atol=1e-6):
        return None
    problem = f'expected {expected:.4f}, got {got:.4f}'
    for wrong, message in hints:
        if np.isclose(got, wrong, rtol=0, atol=1e-6):
            return problem + '. ' + message
    return problem


def check_mean_iou(fn):
    """Exercise 5.1: fn(confusion) returns the mean IoU of a confusion
    matrix n[true, predicted], leaving out classes that occur neither in
    the labels nor in the predictions (as metrics_from_confusion does)."""
    from d2lfcn.metrics import metrics_from_confusion
    rng = np.random.default_rng(51)
    every = rng.integers(1, 20, size=(3, 3))
    absent = rng.integers(1, 20, size=(4, 4))
    absent[2, :] = absent[:, 2] = 0
    predicted_only = rng.integers(1, 20, size=(4, 4))
    predicted_only[3, :] = 0
    never_found = rng.integers(1, 20, size=(3, 3))
    never_found[:, 1] = 0
    voc = np.zeros((21, 21), np.int64)
    for c in (0, 0, 0, 3, 8, 15, 15):
        voc[c] += rng.multinomial(rng.integers(50, 500),
                                  np.full(21, 1 / 21) * 0.3
                                  + 0.7 * np.eye(21)[c])
    voc[:, [5, 9, 11]] = 0          # some classes are never predicted ...
    voc[[5, 9, 11], :] = 0          # ... nor in the labels
    cases = []
    for description, n in [
            ('3 classes, all present', every),
            ('4 classes, class 2 absent from labels and predictions', absent),
            ('4 classes, class 3 only predicted, never in the labels',
             predicted_only),
            ('3 classes, class 1 in the labels but never predicted',
             never_found),
            ('21 classes, several absent (like one VOC batch)', voc)]:

        def case(fn, n=n):
            expected = np.float64(metrics_from_confusion(n)['mean_iou'])
            hits, truth, guess, union = _iou_parts(n)
            with np.errstate(divide='ignore', invalid='ignore'):
                iou = np.where(union > 0, hits / union, 0.0)
                acc = np.where(truth > 0, hits / truth, np.nan)
            hints = [
                (np.float64(iou.mean()),
                 'Your mean counts the classes that occur nowhere as IoU 0 '
                 '(as GluonCV does); leave them out of the mean'),
                (np.float64(iou[truth > 0].mean()),
                 'You left out a class that is predicted but not in the '
                 'labels: its IoU is 0 (its union is not empty) and it '
                 'counts'),
                (np.float64(np.nanmean(acc)),
                 'This is the mean class accuracy n_ii / t_i; the union also '
                 'holds the pixels wrongly predicted as class i')]
            got = fn(np.array(n, copy=True))
            if np.size(got) != 1:
                return (f'expected one number, got an array of shape '
                        f'{np.shape(got)}')
            return _compare_number(got, expected, hints)
        cases.append((description, case))
    return _check('Exercise 5.1 (mean IoU from a confusion matrix)', fn,
                  cases)


def _masked_loss_reference(scores, labels):
    from d2lfcn.training import SegmentationLoss
    return SegmentationLoss()(nd.array(scores, dtype='float64'),
                              nd.array(labels, dtype='float64')).asnumpy()


def check_masked_pixel_loss(fn):
    """Exercise 5.2: fn(scores, labels) with numpy scores (N, C, H, W) and
    labels (N, H, W) (class indices as floats, 255 = ignore) returns the
    (N,) softmax cross-entropy of each image, averaged over its pixels that
    are not ignored (0 if all are), like d2lfcn.SegmentationLoss."""
    rng = np.random.default_rng(52)
    cases = []
    for description, (n, c, h, w), share, scale in [
            ('2 images, 3 classes, no ignored pixels', (2, 3, 4, 5), 0.0, 1),
            ('3 images, 4 classes, a third of the pixels ignored',
             (3, 4, 3, 6), 0.33, 2),
            ('2 images, 21 classes, the second all ignored', (2, 21, 5, 4),
             'second', 1),
            ('large scores (up to about 1000)', (2, 5, 4, 4), 0.2, 300)]:
        scores = (rng.normal(size=(n, c, h, w)) * scale).astype(np.float32)
        labels = rng.integers(0, c, size=(n, h, w)).astype(np.float32)
        if share == 'second':
            labels[1] = 255
            labels[0, 0, :2] = 255
        elif share:
            labels[rng.random((n, h, w)) < share] = 255

        def case(fn, scores=scores, labels=labels):
            expected = _masked_loss_reference(scores, labels)
            valid = labels != 255
            safe = np.where(valid, labels, 0).astype(int)
            logp = scores.astype(np.float64)
            logp = logp - logp.max(axis=1, keepdims=True)
            logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
            nll = -np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
            all_pixels = (nll * valid).sum(axis=(1, 2)) / valid[0].size
            as_background = nll.mean(axis=(1, 2))
            got = fn(scores.copy(), labels.copy())
            got = np.asarray(got.asnumpy() if hasattr(got, 'asnumpy')
                             else got, dtype=np.float64)
            if got.shape == () and expected.shape != ():
                return (f'expected one loss per image, shape '
                        f'{expected.shape}, got a single number: do not '
                        f'average over the batch')
            if got.shape == expected.shape and not np.isfinite(got).all():
                return ('expected finite losses, got nan or inf: subtract '
                        'the largest score of each pixel before exp (the '
                        'log-sum-exp trick), or an image without valid '
                        'pixels was divided by 0')
            return _compare(got, expected, [
                (all_pixels, 'You divided by all pixels of the image; '
                             'divide by the pixels that are not ignored'),
                (as_background, 'The ignored pixels (255) were scored as '
                                'background (class 0); leave them out')])
        cases.append((description, case))
    return _check('Exercise 5.2 (softmax cross-entropy that skips 255)', fn,
                  cases)


# Chapter 6: prediction on whole images ---------------------------------------

class _Stride32Toy:
    """A tiny stand-in for an FCN without its final crop: it takes only sides
    that are multiples of 32, averages each 32x32 block, scores the block's
    mean colour with fixed weights and repeats the scores over the block."""
    num_classes = 21

    def __init__(self, seed=61):
        rng = np.random.default_rng(seed)
        self.weight = rng.normal(0, 1, (21, 3))
        self.bias = rng.normal(0, 0.3, 21)

    def scores(self, x):
        """numpy (N, 3, H, W) -> numpy (N, 21, H, W)."""
        n, c, h, w = x.shape
        if c != 3 or h % 32 or w % 32:
            raise ValueError(
                f'the toy network of this checker, like an FCN without a '
                f'final crop, takes (N, 3, H, W) inputs with H and W '
                f'multiples of 32; got shape {tuple(x.shape)}')
        means = x.reshape(n, c, h // 32, 32, w // 32, 32).mean(axis=(3, 5))
        s = np.einsum('kc,nchw->nkhw', self.weight, means)
        s = s + self.bias[None, :, None, None]
        return s.repeat(32, axis=2).repeat(32, axis=3)

    def __call__(self, x):
        x = x if isinstance(x, nd.NDArray) else nd.array(x)
        return nd.array(self.scores(x.asnumpy().astype(np.float64)),
                        ctx=x.context)


def _normalised(image):
    from d2lfcn.data import RGB_MEAN, RGB_STD
    return ((image.astype(np.float64) / 255 - RGB_MEAN) / RGB_STD
            ).transpose(2, 0, 1)


def _toy_padded_prediction(toy, image, fill=None, where='bottom-right'):
    """The toy's class map of `image` padded to multiples of 32 (normalised
    fill 0, or the uint8 colour `fill` before normalising), cropped back."""
    h, w = image.shape[:2]
    dh, dw = -h % 32, -w % 32
    pads = ((0, dh), (0, dw)) if where == 'bottom-right' else ((dh, 0), (dw, 0))
    if fill is None:
        x = np.pad(_normalised(image), ((0, 0),) + pads)
    else:
        x = _normalised(np.pad(image, pads + ((0, 0),),
                               constant_values=fill))
    pred = toy.scores(x[None])[0].argmax(axis=0)
    return pred[:h, :w] if where == 'bottom-right' else pred[dh:, dw:]


def _blocky_image(rng, h, w, block=16):
    """uint8 (h, w, 3) of random colour blocks: block means vary a lot."""
    small = rng.integers(0, 256, (-(-h // block), -(-w // block), 3))
    big = small.repeat(block, axis=0).repeat(block, axis=1)[:h, :w]
    return np.ascontiguousarray(big.astype(np.uint8))


def _class_map(got, shape):
    """(problem, array): the answer as a float64 (h, w) array, or what is
    wrong with its type or shape."""
    if hasattr(got, 'asnumpy'):
        got = got.asnumpy()
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f'expected an (h, w) array of class indices, got ' \
               f'{type(got).__name__}', None
    if got.ndim == 3 and got.shape[1:] == shape:
        return (f'expected shape {shape}, got {got.shape}: return the class '
                f'map (the argmax over the classes), not the scores'), None
    if got.ndim == 4 and got.shape[2:] == shape:
        return (f'expected shape {shape}, got {got.shape}: drop the batch '
                f'axis and take the argmax over the classes'), None
    if got.shape != shape:
        return f'expected shape {shape} (the image\'s own size), got ' \
               f'{got.shape}', None
    return None, got


def check_pad_predict(fn):
    """Exercise 6.1: fn(net, image, devices) pads the normalised image with 0
    at the bottom and right to multiples of 32, predicts, and crops the class
    map back to the image's size."""
    import mxnet as mx
    rng = np.random.default_rng(62)
    toy = _Stride32Toy()
    cases = []
    for h, w in [(33, 50), (64, 96), (1, 1), (100, 70)]:
        image = _blocky_image(rng, h, w)

        def case(fn, image=image):
            expected = _toy_padded_prediction(toy, image).astype(np.float64)
            problem, got = _class_map(fn(toy, image.copy(), [mx.cpu()]),
                                      image.shape[:2])
            if problem:
                return problem
            return _compare(got, expected, [
                (_toy_padded_prediction(toy, image, fill=0).astype(float),
                 'This is what padding the uint8 image with black (0) before '
                 'normalising gives: black becomes about -2 once normalised. '
                 'Pad the normalised image with 0, the mean colour'),
                (_toy_padded_prediction(toy, image, where='top-left')
                 .astype(float),
                 'This is what padding at the top and left gives; pad at the '
                 'bottom and right so that the image keeps its place on the '
                 'stride-32 grid')])
        cases.append((f'toy stride-32 network, {h}x{w} RGB image', case))

    def fcn_case(fn):
        from d2lfcn.data import normalize_image
        net = _random_fcn32s()
        image = _blocky_image(rng, 45, 70, block=9)
        x = normalize_image(image).expand_dims(0)
        x = nd.pad(x, mode='constant', pad_width=(0, 0, 0, 0, 0, 19, 0, 26))
        expected = net(x).argmax(axis=1)[0, :45, :70].asnumpy()
        problem, got = _class_map(fn(net, image.copy(), [mx.cpu()]), (45, 70))
        return problem or _compare(got, expected.astype(np.float64))
    cases.append(('fcn_resnet18 (random weights), 45x70 RGB image', fcn_case))
    return _check('Exercise 6.1 (pad to a multiple of 32, predict, crop)',
                  fn, cases)


def _tile_starts(n, tile, step):
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile + 1, step))
    if starts[-1] + tile < n:
        starts.append(n - tile)
    return starts


def _tile_reference(scores_fn, image, tile, overlap, vote=False):
    """Average (or, with vote, let the last tile's argmax win) over tiles."""
    h, w = image.shape[:2]
    total = count = None
    winner = np.zeros((h, w), np.int64)
    for top in _tile_starts(h, tile, tile - overlap):
        for left in _tile_starts(w, tile, tile - overlap):
            win = (slice(top, top + tile), slice(left, left + tile))
            s = np.asarray(scores_fn(image[win]), dtype=np.float64)
            if total is None:
                total = np.zeros((s.shape[0], h, w))
                count = np.zeros((h, w))
            total[(slice(None),) + win] += s
            count[win] += 1
            winner[win] = s.argmax(axis=0)
    return winner if vote else (total / count).argmax(axis=0)


class _ToyScores:
    """scores_fn of the tiling checker: per-pixel linear scores of the colour
    plus (optionally) a fixed pattern that depends on the position inside
    the window, as the scores of a real network do near a tile's border."""

    def __init__(self, tile, with_position, seed):
        rng = np.random.default_rng(seed)
        self.tile = tile
        self.weight = rng.normal(0, 1, (5, 3))
        self.position = (rng.normal(0, 1.5, (5, tile, tile)) if with_position
                         else np.zeros((5, tile, tile)))
        self.calls = 0

    def __call__(self, window):
        window = np.asarray(window.asnumpy() if hasattr(window, 'asnumpy')
                            else window, dtype=np.float64)
        if window.ndim != 3 or window.shape[2] != 3:
            raise ValueError(f'the toy scores_fn takes an (h, w, 3) window '
                             f'of the image, got shape {window.shape}')
        th, tw = window.shape[:2]
        if th > self.tile or tw > self.tile or th == 0 or tw == 0:
            raise ValueError(f'the toy scores_fn takes windows of 1 to '
                             f'{self.tile} pixels a side (the tile), got '
                             f'{th}x{tw}')
        self.calls += 1
        return (np.einsum('kc,hwc->khw', self.weight, window)
                + self.position[:, :th, :tw])


def check_tile_predict(fn):
    """Exercise 6.2: fn(scores_fn, image, tile, overlap) averages the class
    scores of overlapping tiles and returns the argmax per pixel."""
    rng = np.random.default_rng(63)
    cases = []
    for (h, w), tile, overlap, with_position in [
            ((50, 70), 32, 8, False), ((50, 70), 32, 8, True),
            ((20, 100), 32, 16, True), ((64, 64), 32, 0, True),
            ((90, 45), 40, 30, True)]:
        image = rng.random((h, w, 3))

        def case(fn, image=image, tile=tile, overlap=overlap,
                 with_position=with_position, seed=h * w + tile, h=h, w=w):
            scores_fn = _ToyScores(tile, with_position, seed)
            expected = _tile_reference(scores_fn, image, tile, overlap)
            needed = scores_fn.calls
            scores_fn.calls = 0
            answer = fn(scores_fn, image.copy(), tile, overlap)
            calls = scores_fn.calls
            problem, got = _class_map(answer, (h, w))
            if problem:
                return problem
            problem = _compare(got, expected.astype(np.float64), [
                (_tile_reference(scores_fn, image, tile, overlap, vote=True)
                 .astype(float),
                 'This is what letting each tile overwrite the argmax of the '
                 'tiles before it gives: add up the scores of every tile '
                 'that covers a pixel, then take the argmax')])
            if problem and calls != needed:
                problem += (f'. Your function scored {calls} '
                            f'windows; this tiling has {needed}: does the '
                            f'last tile on each side end at the border?')
            return problem
        kind = 'position-dependent scores' if with_position else \
            'scores that depend on the pixel only'
        cases.append((f'{h}x{w} image, tile {tile}, overlap {overlap}, '
                      f'{kind}', case))
    return _check('Exercise 6.2 (overlapping tiles averaged)', fn, cases)


def _shift_up_left(image, dy, dx, wrap=False):
    """image[y + dy, x + dx], zeros past the bottom and right edges (or the
    first rows and columns wrapped around, with wrap=True)."""
    if wrap:
        return np.roll(image, (-dy, -dx), axis=(0, 1))
    shifted = np.zeros_like(image)
    h, w = image.shape
    shifted[:h - dy, :w - dx] = image[dy:, dx:]
    return shifted


def _stitch_reference(coarse_fn, image, f, mistake=None):
    """Shift-and-stitch of coarse_fn over image (H, W), or one of its typical
    mistakes: 'down' (shifted down and right), 'wrap', 'swap' (dy and dx
    swapped), 'tile' (the outputs laid side by side, not interlaced)."""
    h, w = image.shape
    out = np.zeros((h, w))
    for dy in range(f):
        for dx in range(f):
            if mistake == 'down':
                shifted = np.zeros_like(image)
                shifted[dy:, dx:] = image[:h - dy, :w - dx]
            else:
                shifted = _shift_up_left(image, dy, dx, mistake == 'wrap')
            coarse = np.asarray(coarse_fn(shifted), dtype=np.float64)
            ch, cw = coarse.shape
            if mistake == 'swap':
                out[dx::f, dy::f] = coarse
            elif mistake == 'tile':
                out[dy * ch:(dy + 1) * ch, dx * cw:(dx + 1) * cw] = coarse
            else:
                out[dy::f, dx::f] = coarse
    return out


def _pool(x, f, reduce):
    h, w = x.shape
    return reduce(x.reshape(h // f, f, w // f, f), axis=(1, 3))


def _conv_same(x, kernel):
    """2-D cross-correlation with zero padding, output the size of x."""
    k = kernel.shape[0]
    padded = np.pad(x, k // 2)
    return sum(kernel[a, b] * padded[a:a + x.shape[0], b:b + x.shape[1]]
               for a in range(k) for b in range(k))


def check_shift_and_stitch(fn):
    """Exercise 6.3: fn(coarse_fn, image, f) runs coarse_fn (a stride-f net:
    (H, W) -> (H / f, W / f), cell i anchored on pixel f * i) on the image
    shifted up and left by (dy, dx) for 0 <= dy, dx < f, and interlaces the
    outputs into an (H, W) map; checked on pooling nets and a small
    convolutional net, and against the dense (stride-1) max filter."""
    rng = np.random.default_rng(63)
    k1, k2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))

    def small_net(x):  # conv, ReLU, 2x2 max pooling, conv: stride 2
        return _conv_same(_pool(np.maximum(_conv_same(x, k1), 0), 2, np.max),
                          k2)
    nets = [
        ('2x2 max pooling', 2, lambda x: _pool(x, 2, np.max), (8, 10)),
        ('4x4 max pooling', 4, lambda x: _pool(x, 4, np.max), (12, 16)),
        ('3x3 blur, then 3x3 mean pooling', 3,
         lambda x: _pool(_conv_same(x, np.ones((3, 3)) / 9), 3, np.mean),
         (9, 12)),
        ('conv, ReLU, 2x2 max pooling, conv', 2, small_net, (10, 12)),
        ('f = 1 (the net itself)', 1, lambda x: 2 * x, (5, 7))]
    cases = []
    for description, f, net, shape in nets:

        def case(fn, f=f, net=net, shape=shape):
            image = rng.normal(size=shape)
            expected = _stitch_reference(net, image, f)
            got = fn(net, image.copy(), f)
            problem = _compare(got, expected, [
                (_stitch_reference(net, image, f, 'down'),
                 'You shifted the image down and right. Cell i of the '
                 'shifted image must see the pixels from f * i + dy on, so '
                 'shift it up and left: drop its first dy rows and dx '
                 'columns'),
                (_stitch_reference(net, image, f, 'wrap'),
                 'Only the last rows and columns are wrong: the shifted '
                 'image wraps around (as np.roll does); fill what comes in '
                 'past the edge with zeros'),
                (_stitch_reference(net, image, f, 'swap'),
                 'The vertical and horizontal shifts are swapped: the '
                 'output of shift (dy, dx) goes to rows dy, dy + f, ... and '
                 'columns dx, dx + f, ...'),
                (_stitch_reference(net, image, f, 'tile'),
                 'The outputs are laid side by side; interlace them: cell i '
                 'of shift dy belongs on row f * i + dy')])
            return problem
        cases.append((f'{description}, {shape[0]}x{shape[1]} image, f = {f}',
                      case))

    def dense_case(fn):
        image = rng.normal(size=(12, 12))
        padded = np.pad(image, ((0, 3), (0, 3)))
        dense = np.max([padded[a:a + 12, b:b + 12] for a in range(4)
                        for b in range(4)], axis=0)
        return _compare(fn(lambda x: _pool(x, 4, np.max), image.copy(), 4),
                        dense)
    cases.append(('4x4 max pooling stitched = the 4x4 max filter at stride 1 '
                  '(filter rarefaction)', dense_case))
    return _check('Exercise 6.3 (shift-and-stitch)', fn, cases)


# Chapter 7: FCN-16s and FCN-8s, the skip connections -------------------------

def _cell_position_reference(layers, mistake=None):
    """(stride, offset) of the last map of `layers` in input pixels, or one
    of the typical mistakes: 'new_stride' (the shift counted in the new
    stride), 'pad_sign', 'no_half' (the (k - 1) / 2 left out),
    'deconv_as_conv'."""
    stride, offset = 1.0, 0.0
    for kind, k, s, p in layers:
        shift = (k - 1) / 2 + (p if mistake == 'pad_sign' else -p)
        if mistake == 'no_half':
            shift = -p
        if kind == 'conv' or mistake == 'deconv_as_conv':
            if mistake == 'new_stride':
                stride *= s
                offset += stride * shift
            else:
                offset += stride * shift
                stride *= s
        else:
            stride /= s
            offset -= stride * shift
    return stride, offset


def _as_convs(layers):
    """(kernel, stride, padding) layers as ('conv', kernel, stride, padding)."""
    return [('conv',) + tuple(layer) for layer in layers]


def check_cell_position(fn):
    """Exercise 7.1: fn(layers) returns (stride, offset): cell i of the last
    map of a chain of ('conv' or 'deconv', kernel, stride, padding) layers is
    centred on input pixel stride * i + offset. The cases include the FCN
    reference's VGG-16 nets, whose crop offsets (19; 5 and 27; 9 and 31)
    follow from the answers."""
    vgg = _as_convs(_vgg16_fc6_layers()[:-1])      # up to pool5
    score_fr = _as_convs(_vgg16_fc6_layers() + [(1, 1, 0), (1, 1, 0)])
    pools = [i for i, layer in enumerate(vgg) if layer == ('conv', 2, 2, 0)]
    pool3, pool4 = vgg[:pools[2] + 1], vgg[:pools[3] + 1]
    resnet = _as_convs(_resnet18_layers())
    cases_ = [
        ('a 3x3 convolution with padding 1', [('conv', 3, 1, 1)], None),
        ("VGG's 2x2 max pooling", [('conv', 2, 2, 0)], None),
        ("ResNet's stem: 7x7 conv, stride 2, pad 3, then 3x3 max pool, "
         "stride 2, pad 1", resnet[:2], None),
        ('one transposed convolution (4, 2, 1)', [('deconv', 4, 2, 1)], None),
        ('VGG-16 with pad 100, up to score_fr', score_fr, None),
        ('the reference FCN-32s: score_fr, then upscore (64, 32, 0)',
         score_fr + [('deconv', 64, 32, 0)],
         'its crop offset is 19 = -offset'),
        ('the reference FCN-16s: upscore2 (4, 2, 0) of score_fr, and pool4',
         None, 'score_pool4 is cropped by 5 to match it'),
        ('the reference FCN-8s: upscore_pool4 and pool3', None,
         'score_pool3 is cropped by 9'),
        ('ResNet-18 to stride 32, then the aligned head (63, 32, 31)',
         resnet + [('deconv', 63, 32, 31)], None),
        ('ResNet-18 to stride 32, then the d2l head (64, 32, 16)',
         resnet + [('deconv', 64, 32, 16)], 'half a cell off: no crop fixes '
         'a half pixel')]
    up2 = [('deconv', 4, 2, 0)]
    pairs = {6: (score_fr + up2, pool4 + [('conv', 1, 1, 0)], 5),
             7: (score_fr + up2 + up2, pool3 + [('conv', 1, 1, 0)], 9)}
    cases = []
    for n, (description, layers, note) in enumerate(cases_):

        def case(fn, layers=layers, n=n):
            chains = [layers] if layers is not None else list(pairs[n][:2])
            for chain in chains:
                expected = np.array(_cell_position_reference(chain))
                answer = fn(list(chain))
                try:
                    got = np.asarray(answer, dtype=np.float64)
                except (TypeError, ValueError):
                    return f'expected a pair (stride, offset), got {answer!r:.80}'
                if got.shape != (2,):
                    return f'expected a pair (stride, offset), got {answer!r:.80}'
                hints = [(np.array(_cell_position_reference(chain, m)), text)
                         for m, text in [
                    ('new_stride', 'A layer shifts its cells by '
                     '((k - 1) / 2 - p) of *its input* cells: multiply by '
                     'the stride before the layer, not after'),
                    ('pad_sign', 'Padding moves the first window up and '
                     'left (into the padding): subtract it'),
                    ('no_half', 'A window of k taps is centred (k - 1) / 2 '
                     'taps after its first one'),
                    ('deconv_as_conv', 'A transposed convolution goes the '
                     'other way: it divides the stride, and its output '
                     'pixel s * i + (k - 1) / 2 - p is where input cell i '
                     'lands')]]
                problem = _compare(got, expected, hints)
                if problem:
                    return problem
            return None
        cases.append((description + (f' ({note})' if note else ''), case))
    return _check('Exercise 7.1 (where the cells of a chain of layers sit)',
                  fn, cases)


@functools.lru_cache(maxsize=None)
def _random_fcn32s():
    """fcn_resnet18(21) with random weights, built once per process: the
    checkers only read it."""
    from d2lfcn.model import fcn_resnet18
    return fcn_resnet18(21, pretrained=False)


@functools.lru_cache(maxsize=None)
def _fcn16s_fusion():
    """(coarse, skip, fused, weight) of the stride-16 fusion of an FCN-16s
    with random skip and upsampling weights, as float64 numpy arrays."""
    import mxnet as mx
    from d2lfcn.model import fcn_resnet18
    mx.random.seed(72)
    net = fcn_resnet18(3, pretrained=False, variant='16s')
    for p in (net.score16.weight, net.up32to16.weight):
        p.set_data(nd.random.normal(scale=0.05, shape=p.shape))
    x = nd.random.normal(shape=(1, 3, 75, 110))
    f16 = net.to_stride16(net.to_stride8(x))
    s32 = net.score32(net.to_stride32(f16))
    skip = net.score16(f16)
    fused = nd.slice_like(net.up32to16(s32), f16, axes=(2, 3)) + skip
    arrays = [a[0].asnumpy().astype(np.float64) for a in (s32, skip, fused)]
    return (*arrays, net.up32to16.weight.data().asnumpy().astype(np.float64))


def _upsample2_reference(coarse, weight):
    """The model's own 2x upsampler with `weight` applied to coarse (C, h, w):
    (C_out, 2h, 2w), uncropped."""
    from d2lfcn.model import bilinear_upsampler
    c_in, c_out = weight.shape[:2]
    layer = bilinear_upsampler(c_out, 2)
    layer.initialize()
    layer.weight.set_data(nd.array(weight, dtype='float64').astype('float32'))
    return layer(nd.array(coarse[None], dtype='float32'))[0].asnumpy() \
        .astype(np.float64)


def _fusion_problem(fn, coarse, skip, weight, expected=None):
    """What is wrong with fn's fusion of coarse into skip, or None."""
    c, h, w = skip.shape
    up = _upsample2_reference(coarse, weight)
    if expected is None:
        expected = up[:, :h, :w] + skip
    swapped = _upsample2_reference(coarse, weight.transpose(1, 0, 2, 3))
    got = fn(coarse.copy(), skip.copy(), weight.copy())
    # the full transposed convolution, before any padding is cropped
    full = np.stack([sum(trans_conv(coarse[i], weight[i, o], 2, 0)
                         for i in range(weight.shape[0]))
                     for o in range(weight.shape[1])])
    return _compare(got, expected, [
        (up[:, -h:, -w:] + skip,
         'You kept the last rows and columns; slice_like keeps the first '
         'ones (the extra rows of the upsampled map lie past the bottom and '
         'right of the image)'),
        (full[:, :h, :w] + skip,
         'Your scores are one fine row and column too far down and right: '
         'padding 1 crops the first row and column of the full transposed '
         'convolution (the output padding only adds at the end)'),
        (swapped[:, :h, :w] + skip,
         'The channels are swapped: Gluon stores a Conv2DTranspose weight as '
         '(in_channels, out_channels, k, k), so weight[i, o] carries input '
         'channel i to output channel o'),
        (up[:, :h, :w],
         'This is the cropped upsampling alone: add the skip scores')])


def check_fuse_skip(fn):
    """Exercise 7.2: fn(coarse, skip, weight) upsamples numpy scores coarse
    (C, h, w) by 2 with a Conv2DTranspose weight (C, C, 3, 3) (stride 2,
    padding 1, output padding 1), crops to the skip scores' (C, H, W) and
    adds them."""
    rng = np.random.default_rng(72)
    cases = []
    for c, (h, w), (sh, sw), kind in [
            (1, (3, 4), (6, 8), 'bilinear'), (2, (3, 4), (5, 7), 'random'),
            (3, (2, 5), (4, 9), 'random'), (2, (1, 1), (1, 2), 'random')]:
        coarse = rng.normal(size=(c, h, w))
        skip = rng.normal(size=(c, sh, sw))
        weight = (bilinear_kernel(c, c, 3).asnumpy().astype(np.float64)
                  if kind == 'bilinear' else rng.normal(size=(c, c, 3, 3)))

        def case(fn, coarse=coarse, skip=skip, weight=weight):
            return _fusion_problem(fn, coarse, skip, weight)
        cases.append((f'{c} class(es), {h}x{w} scores into {sh}x{sw}, '
                      f'{kind} weight', case))

    def model_case(fn):
        coarse, skip, fused, weight = _fcn16s_fusion()
        return _fusion_problem(fn, coarse, skip, weight, expected=fused)
    cases.append(('the stride-16 fusion of fcn_resnet18(3, variant=\'16s\') '
                  'with random skip and upsampling weights, 75x110 input',
                  model_case))
    return _check('Exercise 7.2 (2x upsample, crop and add)', fn, cases)


# Chapter 4: FCN-32s on ResNet-18, receptive fields and parameters -----------

def _resnet18_layers(stages=4):
    """(kernel, stride, padding) along ResNet-18's convolutions and pooling,
    up to the end of stage `stages`."""
    layers = [(7, 2, 3), (3, 2, 1)]
    for stage in range(1, stages + 1):
        layers += [(3, 1 if stage == 1 else 2, 1)] + [(3, 1, 1)] * 3
    return layers


def _vgg16_fc6_layers():
    """VGG-16 up to fc6 as the FCN reference builds it: conv1_1 pads 100,
    the other 3x3 convolutions 1, 2x2 poolings none, fc6 is 7x7 unpadded."""
    layers = []
    for block, convs in enumerate((2, 2, 3, 3, 3)):
        first = (3, 1, 100 if block == 0 else 1)
        layers += [first] + [(3, 1, 1)] * (convs - 1) + [(2, 2, 0)]
    return layers + [(7, 1, 0)]


def _receptive_field_brute_force(layers):
    """(field, jump, centre) of output cell 0, found without the recurrences:
    follow its window down, layer by layer, to every input pixel it can
    depend on (pixels of the padding included)."""
    cells = np.array([0])
    for k, s, p in reversed(layers):
        cells = np.unique((s * cells - p)[:, None] + np.arange(k))
    jump = int(np.prod([s for _, s, _ in layers]))
    return int(cells[-1] - cells[0] + 1), jump, (cells[0] + cells[-1]) / 2


def _receptive_field_variant(layers, mistake):
    """The recurrences with one typical slip: 'no jump' (kernels measured in
    pixels), 'new jump' (this layer's stride applied first), 'padding sign'
    or 'no padding' (in the centre)."""
    field, jump, centre = 1, 1, 0.0
    for k, s, p in layers:
        if mistake == 'new jump':
            jump *= s
        step = 1 if mistake == 'no jump' else jump
        shift = {'padding sign': -p, 'no padding': 0}.get(mistake, p)
        field += (k - 1) * step
        centre += ((k - 1) / 2 - shift) * step
        if mistake != 'new jump':
            jump *= s
    return field, jump, centre


def check_receptive_field(fn):
    """Exercise 4.1: fn(layers) returns (field, jump, centre) of output cell
    0 of the layers (kernel, stride, padding), applied in order, in input
    pixels; compared with a pixel-by-pixel walk down the windows."""
    cases = []
    for name, layers in (
            ('a 3x3 convolution, padding 1', [(3, 1, 1)]),
            ('a 2x2 pooling, stride 2, no padding', [(2, 2, 0)]),
            ('a 3x3 pooling, stride 2, no padding', [(3, 2, 0)]),
            ('a 5x5 convolution with padding 4, then a 2x2 pooling',
             [(5, 1, 4), (2, 2, 0)]),
            ('two 3x3 convolutions, strides 2 and 1', [(3, 2, 1), (3, 1, 1)]),
            ('ResNet-18 to the end of stage 2', _resnet18_layers(2)),
            ('ResNet-18 to the end of stage 4', _resnet18_layers(4)),
            ('VGG-16 with pad 100, up to fc6', _vgg16_fc6_layers())):

        def case(fn, layers=layers):
            expected = _receptive_field_brute_force(layers)
            answer = fn([tuple(layer) for layer in layers])
            try:
                got = tuple(float(v) for v in answer)
            except (TypeError, ValueError):
                got = ()
            if len(got) != 3:
                return (f'expected a triple (field, jump, centre), got '
                        f'{answer!r:.80}')
            wrong = [i for i in range(3) if not np.isclose(got[i],
                                                           expected[i])]
            if not wrong:
                return None
            names = ('field', 'jump', 'centre')
            problem = ', '.join(f'{names[i]}: expected {expected[i]:g}, got '
                                f'{got[i]:g}' for i in wrong)
            hints = {
                'no jump': 'A kernel of k taps spans k - 1 steps of the grid '
                           'below it, and a step of that grid is not one '
                           'pixel once a stride has come before',
                'new jump': 'This layer\'s kernel slides over the grid below '
                            'it, whose spacing does not include this '
                            'layer\'s own stride yet',
                'padding sign': 'Padding puts p cells before cell 0 of the '
                                'grid below, and the window of output cell 0 '
                                'starts on the first of them: padding moves '
                                'the centre up and left',
                'no padding': 'The window of output cell 0 starts in the '
                              'padding, p cells before cell 0 of the grid '
                              'below'}
            for mistake, message in hints.items():
                variant = _receptive_field_variant(layers, mistake)
                if all(np.isclose(got[i], variant[i]) for i in wrong):
                    return f'{problem}. {message}'
            if wrong == [2] and expected[2] != round(expected[2]) and \
                    got[2] == round(got[2]):
                return (f'{problem}. The centre of an even number of pixels '
                        f'lies between two of them: it can be a half-integer')
            return problem
        cases.append((name, case))
    return _check('Exercise 4.1 (receptive field, jump and centre)', fn,
                  cases)


def _head_output(kernel, stride, padding, output_padding, n, j):
    """The row profile of a bilinear Conv2DTranspose (one channel) fed n
    cells with a single 1 at cell j, or a string saying why it cannot run."""
    from mxnet import init
    from mxnet.gluon import nn
    if not 0 <= output_padding < stride:
        return (f'output_padding must be in 0..stride-1 (MXNet refuses '
                f'others), got {output_padding}')
    if padding < 0 or kernel < 1:
        return f'kernel >= 1 and padding >= 0 are needed, got {kernel}, {padding}'
    layer = nn.Conv2DTranspose(1, kernel, strides=stride, padding=padding,
                               output_padding=output_padding, in_channels=1,
                               use_bias=False)
    layer.initialize(init.Constant(bilinear_kernel(1, 1, kernel)))
    x = nd.zeros((1, 1, 1, n))
    x[0, 0, 0, j] = 1
    try:
        out = layer(x)[0, 0].asnumpy().astype(np.float64)
    except Exception as e:
        return f'the layer cannot run: {str(e).splitlines()[0][:120]}'
    return out[out.shape[0] // 2]


def check_head_for(fn):
    """Exercise 4.2: fn(scale, centre) returns (kernel, padding,
    output_padding) of a bilinear transposed convolution with stride
    `scale` that maps n cells to exactly scale * n pixels and paints cell j
    with a tent peaking on pixel scale * j + centre; checked by running the
    layer."""
    cases = []
    for scale, centre, note in [
            (32, 0, "ResNet-18's stride-32 cells"),
            (32, 15.5, 'VGG: cells in the middle of their 32-pixel blocks'),
            (2, 0, 'the 2x fusion of FCN-16s on ResNet'),
            (2, 0.5, 'cells in the middle of 2-pixel blocks'),
            (8, 3.5, 'the middle of 8-pixel blocks'), (3, 1, ''),
            (16, 4, 'cells 4 pixels into their blocks')]:

        def case(fn, scale=scale, centre=centre):
            answer = fn(scale, centre)
            try:
                kernel, padding, output_padding = (int(v) for v in answer)
            except (TypeError, ValueError):
                return (f'expected three integers (kernel, padding, '
                        f'output_padding), got {answer!r:.80}')
            if (kernel % 2 == 0) != (centre != int(centre)):
                return (f'got kernel {kernel}, which cannot put a tent peak '
                        f'on pixel scale * j + {centre:g}: a kernel of k taps '
                        f'centres '
                        f'its tent (k - 1) / 2 taps in, so an odd kernel '
                        f'peaks on a pixel, an even one between two pixels')
            n, j = 5, 2
            profile = _head_output(kernel, scale, padding, output_padding,
                                   n, j)
            if isinstance(profile, str):
                return profile
            if profile.size != scale * n:
                return (f'{n} cells give {profile.size} pixels, expected '
                        f'{scale * n}: (n - 1) * stride + kernel - '
                        f'2 * padding + output_padding must be scale * n')
            peak = float((profile * np.arange(profile.size)).sum()
                         / profile.sum())
            if abs(peak - (scale * j + centre)) > 1e-6:
                return (f'the tent of cell {j} peaks on pixel {peak:g}, '
                        f'expected {scale * j + centre:g}: the padding '
                        f'moves it')
            if kernel not in (2 * scale - 1, 2 * scale):
                return (f'the tent is in place, but a bilinear tent that '
                        f'blends neighbouring cells is 2 * scale - 1 or '
                        f'2 * scale taps wide, got {kernel}')
            return None
        cases.append((f'scale {scale}, centre {centre:g}'
                      + (f' ({note})' if note else ''), case))
    return _check('Exercise 4.2 (a head for a backbone)', fn, cases)


def _tent_centre_measured(j, layers):
    """Where the output of bilinear transposed convolutions `layers`
    ((kernel, stride, padding) each, applied in order) fed a single 1 at
    column j of a row of cells is centred: the centroid of that output."""
    from mxnet import init
    from mxnet.gluon import nn
    x = nd.zeros((1, 1, 1, 2 * j + 3))
    x[0, 0, 0, j] = 1
    for k, s, p in layers:
        layer = nn.Conv2DTranspose(1, k, strides=s, padding=p, in_channels=1,
                                   use_bias=False)
        layer.initialize(init.Constant(bilinear_kernel(1, 1, k)))
        x = layer(x)
    profile = x[0, 0].asnumpy().astype(np.float64).sum(axis=0)
    return float((profile * np.arange(profile.size)).sum() / profile.sum())


def _tent_centre_variant(j, layers, centre_tap=lambda k: (k - 1) / 2,
                         crop=True, scale_offsets=True):
    """tent_centre computed with one of the typical slips (for hints)."""
    position = float(j)
    for k, s, p in layers:
        if scale_offsets:
            position = s * position + centre_tap(k) - (p if crop else 0)
        else:
            position = s * position
    if not scale_offsets:  # every layer's offset added once, unscaled
        position += sum(centre_tap(k) - p for k, s, p in layers)
    return position


def check_tent_centre(fn):
    """Exercise 4.5: fn(j, layers) returns the output pixel on which the
    tent of input cell j is centred after the bilinear transposed
    convolutions `layers` (a list of (kernel, stride, padding)), compared
    with the centroid of the real layers' output."""
    cases = []
    for j, layers, name in (
            (3, [(64, 32, 16)], 'the d2l head of FCN-32s'),
            (3, [(63, 32, 31)], 'the aligned head of FCN-32s'),
            (0, [(64, 32, 0)], ''), (2, [(4, 2, 1)], ''),
            (2, [(3, 2, 1)], ''), (2, [(5, 3, 2)], ''),
            (2, [(4, 2, 1), (32, 16, 8)],
             'a stride-32 score in the d2l FCN-16s'),
            (2, [(3, 2, 1), (31, 16, 15)],
             'a stride-32 score in the aligned FCN-16s'),
            (1, [(4, 2, 1), (4, 2, 1), (16, 8, 4)],
             'a stride-32 score in the d2l FCN-8s')):

        def case(fn, j=j, layers=layers):
            expected = _tent_centre_measured(j, layers)
            answer = fn(j, [tuple(layer) for layer in layers])
            try:
                got = float(np.asarray(answer, dtype=np.float64).reshape(()))
            except (TypeError, ValueError):
                return f'expected a number (a pixel position), got {answer!r}'
            stride = int(np.prod([s for k, s, p in layers]))
            hints = [
                (_tent_centre_variant(j, layers, crop=False),
                 'This is where the tent lands before the padding crops '
                 'the output: padding p removes p pixels from the top and '
                 'left, which moves everything up and left by p'),
                (_tent_centre_variant(j, layers, centre_tap=lambda k: k / 2),
                 'Off by half a pixel per layer: where is the centre of k '
                 'taps numbered 0 to k - 1?'),
                (_tent_centre_variant(j, layers, scale_offsets=False),
                 'A position in the output of one layer is an input '
                 'position of the next, so the next stride multiplies it, '
                 'offset included'),
                (stride * j + (stride - 1) / 2,
                 f'This is the middle of the {stride} output pixels under '
                 f'cell {j}, which is not always where the tent goes: follow '
                 f'the taps of these layers')]
            if expected != round(expected):
                hints += [(float(f(expected)), 'A tent with an even number '
                           'of taps is centred between two pixels: the '
                           'answer can be a half-integer')
                          for f in (np.floor, np.ceil)]
            return _compare_number(got, expected, [
                (w, m) for w, m in hints if not np.isclose(w, expected)])
        cases.append((f'cell {j}, layers {layers}' +
                      (f' ({name})' if name else ''), case))
    return _check('Exercise 4.5 (where a tent lands)', fn, cases)


# Chapter 8: engineering notes --------------------------------------------------

def _make_checkpoints(root, spec):
    """Folders and files under root: spec maps a name to a list of file
    names (a folder) or to None (a plain file)."""
    from pathlib import Path
    root = Path(root)
    for name, files in spec.items():
        if files is None:
            (root / name).write_text('not a folder')
            continue
        (root / name).mkdir(parents=True)
        for f in files:
            (root / name / f).write_bytes(b'x')


def check_newest_checkpoint(fn):
    """Exercise 8.1: fn(folder) returns the Path of the newest complete
    checkpoint folder in `folder` (named epoch-NNNN, holding net.params,
    trainer.states and meta.json), or None; checked on folders with partial,
    incomplete and misnamed entries."""
    import tempfile
    from pathlib import Path
    full = ['net.params', 'trainer.states', 'meta.json']
    layouts = [
        ('two complete checkpoints', {'epoch-0001': full, 'epoch-0002': full},
         'epoch-0002', None),
        ('the newest lacks trainer.states (a crash while saving)',
         {'epoch-0002': full, 'epoch-0003': full[:1] + full[2:]},
         'epoch-0002', 'a folder is a checkpoint only if it holds all three '
         'files'),
        ('a complete .epoch-0004.partial next to epoch-0003',
         {'epoch-0003': full, '.epoch-0004.partial': full}, 'epoch-0003',
         'a partial folder was never renamed: it is not a checkpoint, even '
         'with all its files'),
        ('epoch-0010 and epoch-0009', {'epoch-0009': full, 'epoch-0010': full},
         'epoch-0010', None),
        ('a file named epoch-0005 and a folder epoch-0004',
         {'epoch-0004': full, 'epoch-0005': None}, 'epoch-0004',
         'epoch-0005 is a file, not a folder'),
        ('other folders: notes, epoch-1, best', {'notes': full, 'epoch-1': full,
                                                 'best': full, 'epoch-0001': full},
         'epoch-0001', 'only names epoch- followed by four digits count'),
        ('an empty folder', {}, None, 'return None when there is nothing'),
        ('a folder that does not exist', 'missing', None,
         'a folder that does not exist holds no checkpoint: return None')]
    cases = []
    for description, spec, expected, hint in layouts:

        def case(fn, spec=spec, expected=expected, hint=hint):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp) / 'run'
                if spec != 'missing':
                    root.mkdir()
                    _make_checkpoints(root, spec)
                got = fn(root)
                want = None if expected is None else root / expected
                if got is None and want is None:
                    return None
                if got is None or want is None or Path(got) != want:
                    name = None if got is None else Path(got).name
                    problem = (f'expected {expected if expected else None}, '
                               f'got {name!r}')
                    return problem + (f': {hint}' if hint else '')
            return None
        cases.append((description, case))
    return _check('Exercise 8.1 (the newest complete checkpoint)', fn, cases)


def _loss_scales_reference(overflows, start, window, maximum, mistake=None):
    """The loss scale used at every step by MXNet's dynamic loss scaler, or a
    typical mistake: 'same_step' (the change applied to the step that
    caused it), 'no_reset' (good steps still counted across an overflow),
    'no_cap'."""
    scales, scale, good = [], start, 0
    for overflow in overflows:
        if mistake == 'same_step':
            if overflow:
                scale, good = scale / 2, 0
            else:
                good += 1
                if good == window:
                    scale, good = scale * 2, 0
            scales.append(scale)
            continue
        scales.append(scale)
        if overflow:
            scale = scale / 2
            if mistake != 'no_reset':
                good = 0
        else:
            good += 1
        if good == window:
            good = 0
            scale = scale * 2 if mistake == 'no_cap' else min(maximum,
                                                              scale * 2)
    return scales


def check_loss_scales(fn):
    """Exercise 8.2: fn(overflows, start, window, maximum) returns the loss
    scale used at every step of mixed-precision training with dynamic loss
    scaling, compared with MXNet's rule (halve after an overflow and start
    counting again; double after `window` steps in a row without one, up to
    `maximum`)."""
    rng = np.random.default_rng(82)
    runs = [
        ('5 steps, no overflow, window 2000', [False] * 5, 2 ** 16, 2000,
         2 ** 24),
        ('overflows in the first 3 steps', [True] * 3 + [False] * 3, 2 ** 16,
         2000, 2 ** 24),
        ('window 3, no overflow', [False] * 10, 8, 3, 2 ** 24),
        ('window 3, overflow at step 2 of each run', [False, True, False,
                                                      False, False, False,
                                                      True, False, False,
                                                      False], 8, 3, 2 ** 24),
        ('window 2, the maximum reached', [False] * 9, 4, 2, 16),
        ('window 4, 40 random steps', list(rng.random(40) < 0.15), 2 ** 10, 4,
         2 ** 12)]
    cases = []
    for description, overflows, start, window, maximum in runs:

        def case(fn, overflows=overflows, start=start, window=window,
                 maximum=maximum):
            args = (overflows, start, window, maximum)
            expected = np.array(_loss_scales_reference(*args), float)
            answer = fn(list(overflows), start, window, maximum)
            try:
                got = np.asarray(answer, dtype=np.float64)
            except (TypeError, ValueError):
                return f'expected a list of numbers, got {answer!r:.80}'
            return _compare(got, expected, [
                (np.array(_loss_scales_reference(*args, 'same_step'), float),
                 'Each change comes one step too early: the overflow is found '
                 'in the gradients of a step that already used its scale, so '
                 'the new scale is the next step\'s'),
                (np.array(_loss_scales_reference(*args, 'no_reset'), float),
                 'After an overflow the count of good steps starts again '
                 'from 0'),
                (np.array(_loss_scales_reference(*args, 'no_cap'), float),
                 'The scale never grows past `maximum`')])
        cases.append((description, case))
    return _check('Exercise 8.2 (dynamic loss scaling)', fn, cases)
