"""Chapter 1 helpers against independent references: MXNet's own
convolution and transposed convolution operators and its autograd."""
import numpy as np
import pytest
from mxnet import autograd, nd
from mxnet.gluon import nn

import d2lfcn

rng = np.random.default_rng(0)


def random_cases(count=25):
    """(input (h, w), kernel (kh, kw), stride, padding) with a kernel that fits."""
    cases = []
    while len(cases) < count:
        h, w = rng.integers(1, 9, size=2)
        kh, kw = rng.integers(1, 5, size=2)
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))  # 2p < k below
        if kh <= h + 2 * p and kw <= w + 2 * p and 2 * p < min(kh, kw):
            cases.append(((int(h), int(w)), (int(kh), int(kw)), s, p))
    return cases


CASES = random_cases()


def mx_conv(X, K, stride=1, padding=0):
    out = nd.Convolution(nd.array(X[None, None]), nd.array(K[None, None]),
                         kernel=K.shape, stride=(stride, stride),
                         pad=(padding, padding), num_filter=1, no_bias=True)
    return out[0, 0].asnumpy()


def mx_deconv(X, K, stride=1, padding=0, adj=0):
    out = nd.Deconvolution(nd.array(X[None, None]), nd.array(K[None, None]),
                           kernel=K.shape, stride=(stride, stride),
                           pad=(padding, padding), adj=(adj, adj),
                           num_filter=1, no_bias=True)
    return out[0, 0].asnumpy()


@pytest.mark.parametrize('shape,kshape,stride,padding', CASES)
def test_corr2d_and_kernel2matrix_match_mxnet_convolution(shape, kshape,
                                                          stride, padding):
    X, K = rng.normal(size=shape), rng.normal(size=kshape)
    expected = mx_conv(X, K, stride, padding)
    W = d2lfcn.kernel2matrix(K, shape, stride, padding)
    assert W.shape == (expected.size, X.size)
    np.testing.assert_allclose((W @ X.reshape(-1)).reshape(expected.shape),
                               expected, rtol=1e-4, atol=1e-5)
    assert expected.shape == (
        d2lfcn.conv_output_size(shape[0], kshape[0], stride, padding),
        d2lfcn.conv_output_size(shape[1], kshape[1], stride, padding))
    if stride == 1 and padding == 0 and kshape[0] <= shape[0] \
            and kshape[1] <= shape[1]:
        np.testing.assert_allclose(d2lfcn.corr2d(X, K), expected,
                                   rtol=1e-4, atol=1e-5)


def test_kernel2matrix_contract_with_corr2d():
    X, K = rng.normal(size=(4, 5)), rng.normal(size=(2, 3))
    W = d2lfcn.kernel2matrix(K, X.shape)
    np.testing.assert_allclose(W @ X.reshape(-1),
                               d2lfcn.corr2d(X, K).reshape(-1))


@pytest.mark.parametrize('shape,kshape,stride,padding', CASES)
def test_trans_conv_matches_mxnet_and_matrix_transpose(shape, kshape, stride,
                                                       padding):
    K = rng.normal(size=kshape)
    Y = rng.normal(size=shape)      # trans_conv input
    out_h = d2lfcn.trans_conv_output_size(shape[0], kshape[0], stride, padding)
    out_w = d2lfcn.trans_conv_output_size(shape[1], kshape[1], stride, padding)
    got = d2lfcn.trans_conv(Y, K, stride, padding)
    assert got.shape == (out_h, out_w)
    np.testing.assert_allclose(got, mx_deconv(Y, K, stride, padding),
                               rtol=1e-4, atol=1e-5)
    # the transpose of the matrix of the matching convolution
    if kshape[0] <= out_h + 2 * padding and kshape[1] <= out_w + 2 * padding:
        W = d2lfcn.kernel2matrix(K, (out_h, out_w), stride, padding)
        if W.shape[0] == Y.size:
            np.testing.assert_allclose((W.T @ Y.reshape(-1)).reshape(got.shape),
                                       got, atol=1e-10)


@pytest.mark.parametrize('shape,kshape,stride,padding', CASES)
def test_trans_conv_is_the_gradient_of_a_convolution(shape, kshape, stride,
                                                     padding):
    X = nd.array(rng.normal(size=(1, 1) + shape))
    K = rng.normal(size=kshape)
    X.attach_grad()
    with autograd.record():
        Y = nd.Convolution(X, nd.array(K[None, None]), kernel=kshape,
                           stride=(stride, stride), pad=(padding, padding),
                           num_filter=1, no_bias=True)
    dY = rng.normal(size=Y.shape[2:])
    Y.backward(nd.array(dY[None, None]))
    grad = X.grad[0, 0].asnumpy()
    got = d2lfcn.trans_conv(dY, K, stride, padding)
    # (n + 2p - k) mod s rows/columns at the bottom/right are missing from the
    # symmetric crop: output_padding puts them back
    extra = (shape[0] - got.shape[0], shape[1] - got.shape[1])
    assert 0 <= extra[0] < stride and 0 <= extra[1] < stride
    np.testing.assert_allclose(grad[:got.shape[0], :got.shape[1]], got,
                               rtol=1e-4, atol=1e-5)
    full = d2lfcn.trans_conv(dY, K, stride, 0)   # uncropped; rows past it
    full = np.pad(full, [(0, max(0, padding + n - f))   # were never covered
                         for n, f in zip(shape, full.shape)])
    np.testing.assert_allclose(
        grad, full[padding:padding + shape[0], padding:padding + shape[1]],
        rtol=1e-4, atol=1e-5)
    assert shape == (
        d2lfcn.trans_conv_output_size(Y.shape[2], kshape[0], stride, padding,
                                      extra[0]),
        d2lfcn.trans_conv_output_size(Y.shape[3], kshape[1], stride, padding,
                                      extra[1]))

@pytest.mark.parametrize('n,k,s,p,adj', [(3, 4, 2, 1, 0), (5, 3, 2, 1, 1),
                                         (7, 64, 32, 16, 0), (4, 3, 3, 0, 2),
                                         (1, 1, 1, 0, 0), (6, 5, 4, 2, 3)])
def test_trans_conv_output_size_matches_gluon(n, k, s, p, adj):
    layer = nn.Conv2DTranspose(2, kernel_size=k, strides=s, padding=p,
                               output_padding=adj, in_channels=3)
    layer.initialize()
    out = layer(nd.zeros((1, 3, n, n + 1)))
    assert out.shape[2:] == (
        d2lfcn.trans_conv_output_size(n, k, s, p, adj),
        d2lfcn.trans_conv_output_size(n + 1, k, s, p, adj))


@pytest.mark.parametrize('s', [1, 2, 4, 8, 16, 32])
def test_k_2s_p_s_over_2_upsamples_by_exactly_s(s):
    for n in (1, 7, 10, 15):
        assert d2lfcn.trans_conv_output_size(n, 2 * s, s, s // 2) == n * s \
            or s == 1


def test_conv_output_size_examples():
    assert d2lfcn.conv_output_size(320, 3, 1, 1) == 320
    assert d2lfcn.conv_output_size(224, 7, 2, 3) == 112
    assert d2lfcn.conv_output_size(5, 5) == 1


# ---- bad input -----------------------------------------------------------

@pytest.mark.parametrize('call,error,words', [
    (lambda: d2lfcn.corr2d(np.ones((3, 3)), np.ones(3)), ValueError, 'K must be 2-D'),
    (lambda: d2lfcn.corr2d(np.ones((3, 3, 1)), np.ones((2, 2))), ValueError, 'X must be 2-D'),
    (lambda: d2lfcn.corr2d(np.ones((2, 2)), np.ones((3, 3))), ValueError, 'kernel is larger than the input'),
    (lambda: d2lfcn.corr2d(np.ones((0, 2)), np.ones((1, 1))), ValueError, 'X must not be empty'),
    (lambda: d2lfcn.corr2d('abc', np.ones((1, 1))), TypeError, 'X must be a 2-D array of numbers'),
    (lambda: d2lfcn.trans_conv(np.ones((2, 2)), np.ones((2, 2)), stride=0), ValueError, 'stride must be >= 1, got 0'),
    (lambda: d2lfcn.trans_conv(np.ones((2, 2)), np.ones((2, 2)), padding=-1), ValueError, 'padding must be >= 0, got -1'),
    (lambda: d2lfcn.trans_conv(np.ones((2, 2)), np.ones((2, 2)), stride=1.5), TypeError, 'stride must be an integer'),
    (lambda: d2lfcn.trans_conv(np.ones((2, 2)), np.ones((2, 2)), padding=2), ValueError, 'padding=2 crops the whole output'),
    (lambda: d2lfcn.trans_conv(np.ones((2, 2)), np.ones((2,))), ValueError, 'K must be 2-D'),
    (lambda: d2lfcn.kernel2matrix(np.ones((2, 2)), (3,)), ValueError, 'input_shape must be a (height, width) pair'),
    (lambda: d2lfcn.kernel2matrix(np.ones((2, 2)), (3, 2.5)), TypeError, 'input_shape[1] must be an integer'),
    (lambda: d2lfcn.kernel2matrix(np.ones((4, 4)), (3, 3)), ValueError, 'kernel is larger than the input'),
    (lambda: d2lfcn.kernel2matrix(np.ones((2, 2)), (3, 3), stride=0), ValueError, 'stride must be >= 1'),
    (lambda: d2lfcn.conv_output_size(5, 7), ValueError, 'kernel is larger than the input'),
    (lambda: d2lfcn.conv_output_size(5.0, 3), TypeError, 'n must be an integer'),
    (lambda: d2lfcn.conv_output_size(5, 3, padding=-2), ValueError, 'padding must be >= 0'),
    (lambda: d2lfcn.conv_output_size(True, 1), TypeError, 'n must be an integer'),
    (lambda: d2lfcn.trans_conv_output_size(4, 4, 2, 1, output_padding=2), ValueError, 'output_padding must be smaller than stride (2), got 2'),
    (lambda: d2lfcn.trans_conv_output_size(0, 4), ValueError, 'n must be >= 1, got 0'),
    (lambda: d2lfcn.trans_conv_output_size(4, 0), ValueError, 'kernel_size must be >= 1, got 0'),
])
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_accepts_ndarrays_and_lists():
    K = [[1, 2], [3, 4]]
    X = nd.array(np.arange(9).reshape(3, 3))
    np.testing.assert_allclose(d2lfcn.corr2d(X, K), [[27, 37], [57, 67]])
