"""Checkers of chapter 1: transposed convolution."""
import numpy as np
from mxnet import autograd, nd

from d2lfcn.exercises.common import _check, _compare
from d2lfcn.validate import as_numpy


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
            got_shape = np.shape(as_numpy(got))
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
            got_shape = np.shape(as_numpy(got))
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
