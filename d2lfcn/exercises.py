"""Checkers for the auto-checked exercises.

A checker takes the learner's function, runs it on several cases and
returns a ``Report``. Shown in a notebook, the report says for each case
what is right or wrong (which shape, which value) with a hint, but never the
solution's code. A function that still raises ``NotImplementedError`` (the
stub of the student edition) is reported as "not solved yet".
"""
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

def _labels_case(rng, shapes, with_ignore=True):
    labels = []
    for h, w in shapes:
        label = rng.integers(0, 21, size=(h, w)).astype(np.uint8)
        if with_ignore:
            label[rng.random((h, w)) < 0.2] = 255
        labels.append(label)
    return labels


def check_class_pixel_counts(fn):
    """Exercise 3.1: fn(labels) takes a list of (h, w) uint8 labels and
    returns the number of pixels of each of the 21 classes (shape (21,)),
    not counting the ignore value 255."""
    rng = np.random.default_rng(31)
    cases = []
    for description, shapes, ignore in [
            ('one 4x5 label without ignore pixels', [(4, 5)], False),
            ('one 6x7 label with ignore pixels (255)', [(6, 7)], True),
            ('three labels of different sizes', [(5, 3), (2, 8), (7, 7)],
             True)]:
        labels = _labels_case(rng, shapes, ignore)

        def case(fn, labels=labels):
            flat = np.concatenate([lab.ravel() for lab in labels])
            expected = np.bincount(flat[flat != 255], minlength=21)
            with_ignore = expected.copy()
            with_ignore[0] += int((flat == 255).sum())
            got = fn([lab.copy() for lab in labels])
            got_arr = np.asarray(got.asnumpy() if hasattr(got, 'asnumpy')
                                 else got)
            if got_arr.shape == (256,):
                return ('expected shape (21,), got (256,): count only the '
                        '21 classes and leave out the ignore value 255')
            if (got_arr.shape == (21,) and expected.sum()
                    and np.allclose(got_arr, expected / expected.sum())):
                return ('these are fractions; the exercise asks for pixel '
                        'counts')
            return _compare(got_arr, expected.astype(np.float64), [
                (with_ignore.astype(np.float64),
                 'The ignore pixels (255) were counted as background; they '
                 'belong to no class')])
        cases.append((description, case))
    return _check('Exercise 3.1 (pixels per class)', fn, cases)


def check_pad_to_multiple(fn):
    """Exercise 3.2: fn(feature, label, multiple) pads an (h, w, 3) image
    with 0 and its (h, w) label with 255 at the bottom and right, to the
    smallest sizes that are multiples of `multiple`; sizes that already are
    multiples are left alone."""
    rng = np.random.default_rng(32)
    cases = []
    for (h, w), m in [((5, 7), 4), ((8, 6), 4), ((33, 64), 32), ((1, 1), 3)]:
        feature = rng.integers(1, 256, size=(h, w, 3)).astype(np.uint8)
        label = rng.integers(0, 21, size=(h, w)).astype(np.uint8)

        def case(fn, feature=feature, label=label, m=m):
            h, w = label.shape
            H, W = -(-h // m) * m, -(-w // m) * m
            answer = fn(feature.copy(), label.copy(), m)
            if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
                return f'expected a pair (feature, label), got {type(answer).__name__}'
            got_f, got_l = (np.asarray(a.asnumpy() if hasattr(a, 'asnumpy')
                                       else a) for a in answer)
            if got_l.shape != (H, W):
                hint = ''
                if got_l.shape == (h + m - h % m, w + m - w % m):
                    hint = ('; a size that is already a multiple needs no '
                            'padding: pad by (-h) % m, not m - h % m')
                return (f'a {h}x{w} label with multiple {m} should become '
                        f'{H}x{W}, got {got_l.shape}{hint}')
            if got_f.shape != (H, W, 3):
                return (f'the image should become ({H}, {W}, 3) like its '
                        f'label, got {got_f.shape}')
            if not (np.array_equal(got_f[:h, :w], feature)
                    and np.array_equal(got_l[:h, :w], label)):
                return ('the original pixels must stay at the top left; pad '
                        'only at the bottom and the right')
            pad = np.ones((H, W), bool)
            pad[:h, :w] = False
            if pad.any() and (got_l[pad] == 0).all():
                return ('the label padding is 0 (background): the loss would '
                        'teach the network that the padding is background. '
                        'Pad labels with 255 (ignore)')
            if pad.any() and not (got_l[pad] == 255).all():
                return 'the label padding must be 255 (ignore) everywhere'
            if pad.any() and not (got_f[pad] == 0).all():
                return 'the image padding must be 0'
            return None
        cases.append((f'{h}x{w} image, multiple {m}', case))
    return _check('Exercise 3.2 (pad to a multiple)', fn, cases)

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
        from d2lfcn.model import fcn_resnet18
        net = fcn_resnet18(21, pretrained=False)
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


def check_per_class_iou(fn):
    """Exercise 6.3: fn(confusion) returns the IoU of every class from a
    confusion matrix n[true, predicted], NaN for a class that occurs neither
    in the labels nor in the predictions."""
    from d2lfcn.metrics import metrics_from_confusion
    rng = np.random.default_rng(64)
    absent = rng.integers(0, 50, (4, 4))
    absent[2, :] = absent[:, 2] = 0
    only_predicted = rng.integers(1, 30, (3, 3))
    only_predicted[1, :] = 0
    big = rng.integers(0, 200, (21, 21)) * rng.integers(0, 2, (21, 21))
    big[[3, 11], :] = 0
    big[:, [3, 11]] = 0
    cases = []
    for description, n in [
            ('3 classes, all present', rng.integers(1, 40, (3, 3))),
            ('4 classes, class 2 never occurs', absent),
            ('3 classes, class 1 predicted but never in the labels',
             only_predicted),
            ('21 classes, two of them absent', big)]:

        def case(fn, n=n):
            expected = metrics_from_confusion(n)['per_class_iou']
            got = fn(n.copy())
            got = np.asarray(got.asnumpy() if hasattr(got, 'asnumpy') else got,
                             dtype=np.float64)
            if got.shape != expected.shape:
                return (f'expected shape {expected.shape} (one IoU per '
                        f'class), got {got.shape}')
            nan_expected, nan_got = np.isnan(expected), np.isnan(got)
            if not np.array_equal(nan_expected, nan_got):
                wrong = np.flatnonzero(nan_expected != nan_got)
                k = int(wrong[0])
                if nan_expected[k]:
                    return (f'class {k}: expected NaN, got {got[k]:.4f}: a '
                            f'class in neither the labels nor the '
                            f'predictions has no IoU (0 / 0)')
                return (f'class {k}: expected {expected[k]:.4f}, got NaN: a '
                        f'class that occurs in the labels or the predictions '
                        f'has an IoU, 0 if it is never right')
            accuracy = np.diag(n) / np.maximum(n.sum(axis=1), 1)
            return _compare(np.where(nan_got, 0, got),
                            np.where(nan_expected, 0, expected), [
                (np.where(nan_expected, 0, accuracy),
                 'These are the class accuracies n_ii / t_i; the union also '
                 'counts the pixels wrongly predicted as the class')])
        cases.append((description, case))
    return _check('Exercise 6.3 (IoU per class)', fn, cases)


# Chapter 7: FCN-16s and FCN-8s, the skip connections -------------------------

_STRIDE_OF_VARIANT = {'32s': 32, '16s': 16, '8s': 8}


def check_fused_size(fn):
    """Exercise 7.1: fn(h, w, variant) returns ((fh, fw), (uh, uw)): the size
    of the score map that up_final upsamples in FCN-`variant` for an h x w
    input, and the size up_final makes of it before the final crop."""
    cases = []
    for h, w, variant in [(320, 480, '32s'), (320, 480, '8s'),
                          (333, 517, '32s'), (333, 517, '16s'),
                          (333, 517, '8s'), (500, 375, '16s'),
                          (1, 1, '8s'), (100, 37, '8s')]:

        def case(fn, h=h, w=w, variant=variant):
            s = _STRIDE_OF_VARIANT[variant]
            fused = (-(-h // s), -(-w // s))
            expected = np.array([fused, (s * fused[0], s * fused[1])], float)
            floor = (h // s, w // s)
            coarse = (2 * -(-h // 32), 2 * -(-w // 32)) if s == 16 else \
                (4 * -(-h // 32), 4 * -(-w // 32))
            try:
                got = np.asarray(fn(h, w, variant), dtype=np.float64)
            except (TypeError, ValueError):
                return ('expected a pair of pairs ((fh, fw), (uh, uw)), got '
                        'something that is not a 2x2 table of numbers')
            return _compare(got, expected, [
                (np.array([floor, (s * floor[0], s * floor[1])], float),
                 'You rounded down; every stride-2 layer of ResNet rounds '
                 'up, so a map at stride s has ceil(h / s) rows'),
                (np.array([coarse, (s * coarse[0], s * coarse[1])], float),
                 'This is the size of the upsampled coarser scores before '
                 'slice_like crops them to the finer feature map; the fused '
                 'map has the finer map\'s size'),
                (np.array([fused, (h, w)], float),
                 'The second pair is the size before the final crop: up_final '
                 'multiplies the fused size by the variant\'s stride')])
        cases.append((f'{h}x{w} input, FCN-{variant}', case))
    return _check('Exercise 7.1 (sizes at the fusion points)', fn, cases)


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
        fused = (nd.slice_like(net.up32to16(s32), f16, axes=(2, 3)) + skip)
        as64 = [a[0].asnumpy().astype(np.float64) for a in (s32, skip, fused)]
        return _fusion_problem(fn, as64[0], as64[1],
                               net.up32to16.weight.data().asnumpy()
                               .astype(np.float64), expected=as64[2])
    cases.append(('the stride-16 fusion of fcn_resnet18(3, variant=\'16s\') '
                  'with random skip and upsampling weights, 75x110 input',
                  model_case))
    return _check('Exercise 7.2 (2x upsample, crop and add)', fn, cases)


# Chapter 4: FCN-32s on ResNet-18, sizes and parameters ----------------------

_STRIDE2_LAYERS = ((1, '7x7 convolution'), (4, 'max pooling'),
                   (6, 'stage 2'), (7, 'stage 3'), (8, 'stage 4'))
_backbone_features = []


def _resnet18_stage_sizes(height, width):
    """(h, w) after each stride-2 layer of a real ResNet-18 v2."""
    from mxnet import init
    from mxnet.gluon.model_zoo import vision
    if not _backbone_features:
        backbone = vision.resnet18_v2(pretrained=False)
        backbone.initialize(init.Xavier())
        _backbone_features.append(backbone.features)
    features = _backbone_features[0]
    x, sizes = nd.zeros((1, 3, height, width)), []
    for i in range(_STRIDE2_LAYERS[-1][0] + 1):
        x = features[i](x)
        if i in dict(_STRIDE2_LAYERS):
            sizes.append(tuple(int(n) for n in x.shape[2:]))
    return sizes


def check_stage_sizes(fn):
    """Exercise 4.1: fn(height, width) returns the five (h, w) sizes after
    the stride-2 layers of ResNet-18 v2 (7x7 convolution, max pooling,
    stages 2, 3 and 4), compared with the real network's outputs."""
    cases = []
    for h, w in ((320, 480), (321, 479), (100, 77), (33, 31), (1, 1),
                 (500, 375)):

        def case(fn, h=h, w=w):
            expected = _resnet18_stage_sizes(h, w)
            answer = fn(h, w)
            try:
                got = [tuple(pair) for pair in answer]
            except TypeError:
                return (f'expected a list of five (h, w) pairs, got '
                        f'{answer!r:.80}')
            if len(got) != 5:
                return (f'expected five (h, w) pairs, one per stride-2 layer '
                        f'(the max pooling counts too), got {len(got)}')
            if any(len(pair) != 2 for pair in got):
                return f'expected (h, w) pairs, got {answer!r}'
            floor, hh, ww = [], h, w
            for _ in range(5):
                hh, ww = hh // 2, ww // 2
                floor.append((hh, ww))
            for (i, name), g, e in zip(_STRIDE2_LAYERS, got, expected):
                if g != e:
                    problem = (f'after the {name} (features[{i}]) expected '
                               f'{e}, got {g}')
                    if g == e[::-1] and e[0] != e[1]:
                        problem += '; height and width are swapped'
                    elif got == floor:
                        problem += ('; halving and rounding down drops the '
                                    'last row of an odd size, but these '
                                    'layers pad the border, so a window '
                                    'also starts on that row: they round up')
                    return problem
            return None
        cases.append((f'{h}x{w} input', case))
    return _check('Exercise 4.1 (feature map sizes in ResNet-18)', fn, cases)


def check_upsampling_params(fn):
    """Exercise 4.2: fn(num_classes, scale, aligned) returns (total, nonzero):
    the number of weights of bilinear_upsampler(num_classes, scale, aligned)
    and how many of them are non-zero at initialisation, checked on the real
    layer, for the aligned head and for the d2l head (aligned=False)."""
    from d2lfcn.model import bilinear_upsampler
    cases = []
    for c, s, aligned in ((21, 32, True), (21, 32, False), (2, 32, True),
                          (21, 2, True), (21, 2, False), (5, 16, False),
                          (3, 8, True), (4, 3, True)):

        def case(fn, c=c, s=s, aligned=aligned):
            layer = bilinear_upsampler(c, s, aligned)
            layer.initialize()
            weight = layer.weight.data().asnumpy()
            total, nonzero = weight.size, int(np.count_nonzero(weight))
            answer = fn(c, s, aligned)
            if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
                return f'expected a pair (total, nonzero), got {answer!r}'
            got_total, got_nonzero = answer
            k = weight.shape[-1]
            other = 2 * s if aligned else 2 * s - 1   # the other design's k
            if got_total != total:
                hint = ''
                if got_total == c * c * s * s:
                    hint = ('; the kernel is about twice the stride wide, so '
                            'that neighbouring tents overlap')
                elif got_total == c * k * k:
                    hint = ('; a transposed convolution has a kernel for '
                            'every (input, output) channel pair')
                elif got_total == c * c * other * other:
                    hint = (f'; that is the kernel size of the other head: '
                            f'aligned={aligned} builds the '
                            f'{"aligned" if aligned else "d2l"} design, '
                            f'look again at its kernel size')
                return (f'expected {total} weights in total, got '
                        f'{got_total}{hint}')
            if got_nonzero != nonzero:
                hint = ''
                if got_nonzero == total:
                    hint = ('; the bilinear kernel only maps channel c to '
                            'channel c, other pairs start at zero')
                elif got_nonzero < nonzero:
                    hint = ('; does the tent reach zero anywhere inside the '
                            'kernel?')
                return (f'the total is right; expected {nonzero} non-zero '
                        f'weights, got {got_nonzero}{hint}')
            return None
        cases.append((f'{c} classes, scale {s}, aligned={aligned}', case))
    return _check('Exercise 4.2 (weights of the upsampling layer)', fn, cases)


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
