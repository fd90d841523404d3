"""Chapter 2: upsampling by nearest neighbour, bilinear interpolation and
the bilinear kernel of a transposed convolution.

Images are numpy arrays of shape (h, w) or (h, w, c); scales are integers.
The notebook ``02_upsampling_and_bilinear_kernel.ipynb`` teaches the same
functions with the same source text (a test checks it).
"""
# Taught in notebooks/02_upsampling_and_bilinear_kernel.ipynb
# (upsample_nearest, upsample_bilinear, bilinear_kernel): edit there, then run
# python tools/sync_code.py. Not written out in a notebook: nothing.
import numpy as np
from mxnet import nd

from d2lfcn.validate import as_image, positive_int


def upsample_nearest(img, scale):
    """Nearest-neighbour upsampling by an integer factor.

    img: (h, w) or (h, w, c). Returns (h * scale, w * scale[, c]), same
    dtype: every input pixel becomes a scale x scale block.
    """
    img, scale = as_image(img), positive_int(scale, 'scale')
    return img.repeat(scale, axis=0).repeat(scale, axis=1)


def upsample_bilinear(img, scale):
    """Bilinear upsampling by an integer factor, pixel centres aligned.

    img: (h, w) or (h, w, c). Output pixel i lies at input coordinate
    (i + 0.5) / scale - 0.5 (the convention of OpenCV and PIL); coordinates
    outside [0, n - 1] are clamped to the edge. Returns a float64 array of
    shape (h * scale, w * scale[, c]).
    """
    img, scale = as_image(img), positive_int(scale, 'scale')

    def neighbours(n):  # two source indices and the weight of the second
        x = np.clip((np.arange(n * scale) + 0.5) / scale - 0.5, 0, n - 1)
        lo = np.floor(x).astype(int)
        return lo, np.minimum(lo + 1, n - 1), x - lo

    img = img.astype(np.float64)
    extra = (1,) * (img.ndim - 2)  # broadcast the weights over channels
    r0, r1, wr = neighbours(img.shape[0])
    c0, c1, wc = neighbours(img.shape[1])
    wr, wc = wr.reshape(-1, 1, *extra), wc.reshape(1, -1, *extra)
    rows = img[r0] * (1 - wr) + img[r1] * wr  # interpolate along the height
    return rows[:, c0] * (1 - wc) + rows[:, c1] * wc  # then along the width


def bilinear_kernel(in_channels, out_channels, kernel_size):
    """Weights that turn a Conv2DTranspose into a bilinear upsampler.

    Returns a float32 NDArray of shape (in_channels, out_channels, k, k), the
    layout of Gluon's Conv2DTranspose weight. Channel c is spread into output
    channel c by a tent filter, the outer product of two 1-D triangles that
    fall from 1 near the centre to 0 one `factor` away; other channel pairs
    get zeros. With stride s, kernel_size = 2 * s and padding = s / 2
    upsample by s (for an even s).
    """
    in_channels = positive_int(in_channels, 'in_channels')
    out_channels = positive_int(out_channels, 'out_channels')
    k = positive_int(kernel_size, 'kernel_size')
    if in_channels != out_channels:
        raise ValueError(f'a bilinear kernel upsamples each channel on its '
                         f'own, so in_channels must equal out_channels; got '
                         f'in_channels={in_channels}, out_channels={out_channels}')
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    tent = 1 - np.abs(np.arange(k) - center) / factor
    weight = np.zeros((in_channels, out_channels, k, k), dtype=np.float32)
    weight[range(in_channels), range(out_channels)] = np.outer(tent, tent)
    return nd.array(weight, dtype='float32')
