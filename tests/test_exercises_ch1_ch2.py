"""The chapter 1 and 2 checkers accept right answers, reject typical wrong
ones with a message that says what is wrong, and treat the student stub as
'not solved yet'."""
import numpy as np

import d2lfcn


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (what the teacher edition holds) ----------------

def zero_insertion(X, K, stride, padding):
    X, K = np.asarray(X), np.asarray(K)
    k_h, k_w = K.shape
    spread = np.zeros(((X.shape[0] - 1) * stride + 1,
                       (X.shape[1] - 1) * stride + 1))
    spread[::stride, ::stride] = X
    padded = np.pad(spread, [(k_h - 1 - padding,) * 2, (k_w - 1 - padding,) * 2])
    return d2lfcn.corr2d(padded, K[::-1, ::-1])


def conv_input_grad(dY, K, input_shape, stride, padding):
    full = d2lfcn.trans_conv(dY, K, stride, 0)
    full = np.pad(full, [(0, max(0, padding + n - f))
                         for n, f in zip(input_shape, full.shape)])
    return full[padding:padding + input_shape[0],
                padding:padding + input_shape[1]]


def border_fix(img, scale):
    K = d2lfcn.bilinear_kernel(1, 1, 2 * scale)[0, 0].asnumpy()
    up = d2lfcn.trans_conv(img, K, scale, scale // 2)
    return up / d2lfcn.trans_conv(np.ones_like(img), K, scale, scale // 2)


# ---- typical wrong answers ------------------------------------------------

def zero_insertion_unflipped(X, K, stride, padding):
    return zero_insertion(X, np.asarray(K)[::-1, ::-1], stride, padding)


def zero_insertion_no_padding_crop(X, K, stride, padding):
    return zero_insertion(X, K, stride, 0)


def conv_input_grad_zeros(dY, K, input_shape, stride, padding):
    got = d2lfcn.trans_conv(dY, K, stride, padding)
    return np.pad(got, [(0, n - g) for n, g in zip(input_shape, got.shape)])


def conv_input_grad_plain(dY, K, input_shape, stride, padding):
    return d2lfcn.trans_conv(dY, K, stride, padding)


def border_fix_plain(img, scale):
    K = d2lfcn.bilinear_kernel(1, 1, 2 * scale)[0, 0].asnumpy()
    return d2lfcn.trans_conv(img, K, scale, scale // 2)


CHECKERS = {
    'check_trans_conv_by_zero_insertion': (
        zero_insertion, [zero_insertion_unflipped,
                         zero_insertion_no_padding_crop]),
    'check_conv_input_grad': (
        conv_input_grad, [conv_input_grad_zeros, conv_input_grad_plain]),
    'check_nearest_kernel': (
        lambda s: np.ones((s, s)), [lambda s: np.ones((s + 1, s + 1)),
                                    lambda s: np.ones((s, s)) / s ** 2,
                                    lambda s: np.ones(s)]),
    'check_bilinear_params': (
        lambda s: (2 * s - s % 2, s // 2), [lambda s: (2 * s, s // 2),
                                            lambda s: (2 * s + 1, s // 2 + 1),
                                            lambda s: 2 * s]),
    'check_border_fix': (
        border_fix, [border_fix_plain,
                     lambda img, s: d2lfcn.upsample_nearest(img, s)]),
}


def test_typical_mistakes_get_their_diagnosis():
    text = repr(d2lfcn.check_trans_conv_by_zero_insertion(
        zero_insertion_unflipped))
    assert 'unflipped kernel' in text
    text = repr(d2lfcn.check_border_fix(border_fix_plain))
    assert 'plain transposed convolution' in text
    text = repr(d2lfcn.check_conv_input_grad(conv_input_grad_plain))
    assert 'rows or columns short' in text
    text = repr(d2lfcn.check_bilinear_params(lambda s: (2 * s, s // 2)))
    assert '(n-1)*s + k - 2p' in text
