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


def check_trans_conv_by_zero_insertion(fn):
    """Exercise 1.1: fn(X, K, stride, padding) must equal trans_conv(...).

    The learner writes a transposed convolution from corr2d alone: spread the
    input out with zeros, pad it, and correlate with a rearranged kernel.
    """
    rng = np.random.default_rng(1)
    cases = []
    for (n_h, n_w), (k_h, k_w), s, p in [((3, 3), (2, 2), 1, 0),
                                         ((2, 2), (3, 3), 2, 0),
                                         ((4, 3), (3, 2), 3, 1),
                                         ((3, 4), (4, 4), 2, 1)]:
        X, K = _rand(rng, n_h, n_w), _rand(rng, k_h, k_w)

        def case(fn, X=X, K=K, s=s, p=p):
            expected = trans_conv(X, K, s, p)
            unflipped = trans_conv(X, K[::-1, ::-1], s, p)
            return _compare(fn(X.copy(), K.copy(), s, p), expected, [
                (unflipped, 'Your result is what the unflipped kernel gives: '
                            'the output pixel that K[0, 0] lands on is '
                            'reached from the other side in a correlation.')])
        cases.append((f'X {n_h}x{n_w}, K {k_h}x{k_w}, stride {s}, '
                      f'padding {p}', case))
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


def check_nearest_kernel(fn):
    """Exercise 2.1: fn(scale) returns a kernel K with which
    trans_conv(X, K, stride=scale) == upsample_nearest(X, scale)."""
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
