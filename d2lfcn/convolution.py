"""Chapter 1: convolution as a matrix, and the transposed convolution.

Everything here works on single-channel 2-D numpy arrays, so that every sum
can be followed by hand. Arrays are indexed (row, column); sizes are in pixels.
The notebook ``01_transposed_convolution.ipynb`` teaches the same functions
with the same source text (a test checks it).
"""
# Taught in notebooks/01_transposed_convolution.ipynb (corr2d,
# conv_output_size, kernel2matrix, trans_conv, trans_conv_output_size): edit
# there, then run python tools/sync_code.py. Not written out in a notebook:
# nothing.
import numpy as np

from d2lfcn.validate import (as_matrix, kernel_fits, nonnegative_int,
                             positive_int, shape2d)


def conv_output_size(n, kernel_size, stride=1, padding=0):
    """Length of a convolution's output along one axis.

    n: input length (pixels); kernel_size: k; stride: s; padding: p zeros on
    each side. Returns floor((n + 2p - k) / s) + 1.
    """
    n, k = positive_int(n, 'n'), positive_int(kernel_size, 'kernel_size')
    s, p = positive_int(stride, 'stride'), nonnegative_int(padding, 'padding')
    kernel_fits((k,), (n,), p)
    return (n + 2 * p - k) // s + 1


def trans_conv_output_size(n, kernel_size, stride=1, padding=0,
                           output_padding=0):
    """Length of a transposed convolution's output along one axis.

    n: input length; returns (n - 1) * s + k - 2p + output_padding, where
    output_padding (0 <= output_padding < s) keeps that many of the rows that
    cropping the padding would remove at the bottom/right.
    """
    n, k = positive_int(n, 'n'), positive_int(kernel_size, 'kernel_size')
    s, p = positive_int(stride, 'stride'), nonnegative_int(padding, 'padding')
    output_padding = nonnegative_int(output_padding, 'output_padding')
    if output_padding >= s:
        raise ValueError(f'output_padding must be smaller than stride '
                         f'({s}), got {output_padding}')
    size = (n - 1) * s + k - 2 * p + output_padding
    if size < 1:
        raise ValueError(f'padding={p} crops the whole output: (n - 1) * s + '
                         f'k = {(n - 1) * s + k} pixels, minus 2 * padding '
                         f'leaves {size}; use padding <= {((n - 1) * s + k - 1) // 2}')
    return size


def corr2d(X, K):
    """2-D cross-correlation, the operation deep learning calls convolution.

    X: (n_h, n_w) input; K: (k_h, k_w) kernel.
    Returns Y of shape (n_h - k_h + 1, n_w - k_w + 1) with
    Y[i, j] = sum over (a, b) of X[i + a, j + b] * K[a, b].
    """
    X, K = as_matrix(X, 'X'), as_matrix(K, 'K')
    kernel_fits(K.shape, X.shape)
    k_h, k_w = K.shape
    Y = np.zeros((X.shape[0] - k_h + 1, X.shape[1] - k_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + k_h, j:j + k_w] * K).sum()
    return Y


def kernel2matrix(K, input_shape, stride=1, padding=0):
    """The matrix W of a convolution with kernel K on inputs of input_shape.

    K: (k_h, k_w); input_shape: (n_h, n_w). Returns W of shape
    (o_h * o_w, n_h * n_w) such that W @ X.reshape(-1) is the convolution of
    X (zero-padded by `padding`, sliding by `stride`) flattened row by row;
    with the defaults, W @ X.reshape(-1) == corr2d(X, K).reshape(-1).
    """
    K = as_matrix(K, 'K')
    n_h, n_w = shape2d(input_shape, 'input_shape')
    o_h = conv_output_size(n_h, K.shape[0], stride, padding)
    o_w = conv_output_size(n_w, K.shape[1], stride, padding)
    W = np.zeros((o_h * o_w, n_h * n_w))
    for i in range(o_h):
        for j in range(o_w):
            for a in range(K.shape[0]):
                for b in range(K.shape[1]):
                    r = i * stride + a - padding  # input row under K[a, b]
                    c = j * stride + b - padding  # input column under K[a, b]
                    if 0 <= r < n_h and 0 <= c < n_w:  # else: a padded zero
                        W[i * o_w + j, r * n_w + c] = K[a, b]
    return W


def trans_conv(X, K, stride=1, padding=0):
    """Transposed convolution of X with kernel K, written from scratch.

    X: (n_h, n_w); K: (k_h, k_w). Every input pixel X[i, j] adds a copy of K,
    scaled by X[i, j], to the output window starting at (i * stride,
    j * stride); `padding` rows and columns are then cropped from each side.
    Returns an array of shape ((n_h - 1) * s + k_h - 2p, (n_w - 1) * s + k_w - 2p).
    """
    X, K = as_matrix(X, 'X'), as_matrix(K, 'K')
    o_h = trans_conv_output_size(X.shape[0], K.shape[0], stride, padding)
    o_w = trans_conv_output_size(X.shape[1], K.shape[1], stride, padding)
    k_h, k_w = K.shape
    full = np.zeros((o_h + 2 * padding, o_w + 2 * padding))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            r, c = i * stride, j * stride
            full[r:r + k_h, c:c + k_w] += X[i, j] * K
    return full[padding:padding + o_h, padding:padding + o_w]

