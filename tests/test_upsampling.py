"""Chapter 2 helpers against independent references: OpenCV's resize and
Gluon's Conv2DTranspose."""
import cv2
import numpy as np
import pytest
from mxnet import init, nd
from mxnet.gluon import nn

import d2lfcn

rng = np.random.default_rng(1)


@pytest.mark.parametrize('shape', [(5, 7), (1, 1), (6, 3, 3), (4, 9, 1)])
@pytest.mark.parametrize('scale', [1, 2, 3, 5])
def test_nearest_matches_opencv(shape, scale):
    img = rng.integers(0, 256, size=shape).astype(np.uint8)
    got = d2lfcn.upsample_nearest(img, scale)
    ref = cv2.resize(img, None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_NEAREST)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, ref.reshape(got.shape))


@pytest.mark.parametrize('shape', [(5, 7), (1, 4), (6, 3, 3), (8, 9, 4),
                                   (2, 2, 1)])
@pytest.mark.parametrize('scale', [1, 2, 3, 4, 7])
def test_bilinear_matches_opencv(shape, scale):
    img = rng.random(shape).astype(np.float32)
    got = d2lfcn.upsample_bilinear(img, scale)
    ref = cv2.resize(img, None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_LINEAR).reshape(got.shape)
    assert got.shape == (shape[0] * scale, shape[1] * scale) + shape[2:]
    np.testing.assert_allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize('k', [1, 2, 3, 4, 5, 8, 64])
def test_bilinear_kernel_shape_dtype_and_layout(k):
    w = d2lfcn.bilinear_kernel(3, 3, k)
    assert isinstance(w, nd.NDArray) and w.dtype == np.float32
    assert w.shape == (3, 3, k, k)
    w = w.asnumpy()
    for i in range(3):
        for j in range(3):
            if i != j:
                assert not w[i, j].any()
    np.testing.assert_allclose(w[0, 0], w[0, 0].T)       # symmetric
    np.testing.assert_allclose(w[0, 0], w[2, 2])
    assert np.all(w[0, 0] > 0)


@pytest.mark.parametrize('scale', [2, 4, 8, 16, 32])
def test_bilinear_kernel_weights_sum_to_one_per_phase(scale):
    tent = d2lfcn.bilinear_kernel(1, 1, 2 * scale)[0, 0].asnumpy()
    # each output phase gathers every scale-th tap: its weights sum to 1
    for a in range(scale):
        for b in range(scale):
            assert abs(tent[a::scale, b::scale].sum() - 1) < 1e-5


@pytest.mark.parametrize('scale', [2, 4, 8, 32])
@pytest.mark.parametrize('shape', [(6, 9), (11, 5), (3, 3)])
def test_bilinear_transposed_conv_is_a_bilinear_resize(scale, shape):
    channels = 3
    img = rng.random(shape + (channels,)).astype(np.float32)
    layer = nn.Conv2DTranspose(channels, kernel_size=2 * scale,
                               strides=scale, padding=scale // 2,
                               in_channels=channels, use_bias=False)
    layer.initialize(init.Constant(d2lfcn.bilinear_kernel(channels, channels,
                                                          2 * scale)))
    out = layer(nd.array(img.transpose(2, 0, 1)[None]))[0].asnumpy()
    out = out.transpose(1, 2, 0)
    ref = cv2.resize(img, None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_LINEAR)
    assert out.shape == ref.shape == (shape[0] * scale, shape[1] * scale, 3)
    b = scale // 2            # the border that sees zero padding
    inner = (slice(b, -b), slice(b, -b))
    np.testing.assert_allclose(out[inner], ref[inner], atol=1e-5)
    np.testing.assert_allclose(out[inner],
                               d2lfcn.upsample_bilinear(img, scale)[inner],
                               atol=1e-5)
    # the border is darker: its weights sum to less than one
    assert np.all(out[0] <= ref[0] + 1e-6) and not np.allclose(out[0], ref[0])


def test_bilinear_kernel_matches_scratch_trans_conv():
    X = rng.random((4, 5))
    K = d2lfcn.bilinear_kernel(1, 1, 4)[0, 0].asnumpy()
    up = d2lfcn.trans_conv(X, K, stride=2, padding=1)
    np.testing.assert_allclose(up[1:-1, 1:-1],
                               d2lfcn.upsample_bilinear(X, 2)[1:-1, 1:-1],
                               atol=1e-6)


@pytest.mark.parametrize('call,error,words', [
    (lambda: d2lfcn.upsample_nearest(np.ones((2, 2)), 0), ValueError, 'scale must be >= 1, got 0'),
    (lambda: d2lfcn.upsample_nearest(np.ones((2, 2)), 1.5), TypeError, 'scale must be an integer'),
    (lambda: d2lfcn.upsample_bilinear(np.ones((2, 2)), -1), ValueError, 'scale must be >= 1'),
    (lambda: d2lfcn.upsample_bilinear(np.ones(5), 2), ValueError, 'img must be a non-empty array of shape (h, w) or (h, w, c)'),
    (lambda: d2lfcn.upsample_bilinear(np.ones((1, 2, 2, 3)), 2), ValueError, 'got shape (1, 2, 2, 3)'),
    (lambda: d2lfcn.upsample_nearest(np.ones((0, 3)), 2), ValueError, 'non-empty'),
    (lambda: d2lfcn.upsample_nearest(np.array([['a']]), 2), TypeError, 'must hold numbers'),
    (lambda: d2lfcn.bilinear_kernel(3, 2, 4), ValueError, 'in_channels must equal out_channels; got in_channels=3, out_channels=2'),
    (lambda: d2lfcn.bilinear_kernel(0, 0, 4), ValueError, 'in_channels must be >= 1'),
    (lambda: d2lfcn.bilinear_kernel(3, 3, 0), ValueError, 'kernel_size must be >= 1, got 0'),
    (lambda: d2lfcn.bilinear_kernel(3, 3, 4.0), TypeError, 'kernel_size must be an integer'),
])
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
