"""The chapter-7 checkers accept the reference solutions, reject typical
mistakes with a message that says what is wrong, and report stubs as not
solved yet; the reference sizes are those of the real model."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import nd

import d2lfcn


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (what the teacher edition holds) ----------------

def fused_size(h, w, variant):
    s = {'32s': 32, '16s': 16, '8s': 8}[variant]
    fh, fw = -(-h // s), -(-w // s)
    return (fh, fw), (s * fh, s * fw)


def _upsample2(coarse, weight, first=1):
    """The aligned 2x upsampler: the full transposed convolution (stride 2,
    no padding) without its first `first` rows and columns, 2h x 2w."""
    _, h, w = coarse.shape
    up = np.zeros((weight.shape[1], 2 * h, 2 * w))
    for i in range(weight.shape[0]):
        for o in range(weight.shape[1]):
            full = d2lfcn.trans_conv(coarse[i], weight[i, o], 2, 0)
            up[o] += full[first:first + 2 * h, first:first + 2 * w]
    return up


def fuse_skip(coarse, skip, weight):
    _, h, w = skip.shape
    return _upsample2(coarse, weight)[:, :h, :w] + skip


# ---- typical wrong answers ------------------------------------------------

def fused_size_floor(h, w, variant):
    s = {'32s': 32, '16s': 16, '8s': 8}[variant]
    return (h // s, w // s), (s * (h // s), s * (w // s))


def fused_size_uncropped_chain(h, w, variant):
    s = {'32s': 32, '16s': 16, '8s': 8}[variant]
    fh, fw = (32 // s) * -(-h // 32), (32 // s) * -(-w // 32)
    return (fh, fw), (s * fh, s * fw)


def fused_size_after_crop(h, w, variant):
    (fh, fw), _ = fused_size(h, w, variant)
    return (fh, fw), (h, w)


def fuse_skip_no_crop(coarse, skip, weight):
    return _upsample2(coarse, weight) + np.pad(
        skip, ((0, 0), (0, 2 * coarse.shape[1] - skip.shape[1]),
               (0, 2 * coarse.shape[2] - skip.shape[2])))


def fuse_skip_last_rows(coarse, skip, weight):
    _, h, w = skip.shape
    return _upsample2(coarse, weight)[:, -h:, -w:] + skip


def fuse_skip_uncropped_start(coarse, skip, weight):
    _, h, w = skip.shape
    return _upsample2(coarse, weight, first=0)[:, :h, :w] + skip


def fuse_skip_swapped_channels(coarse, skip, weight):
    return fuse_skip(coarse, skip, weight.transpose(1, 0, 2, 3))


def fuse_skip_without_skip(coarse, skip, weight):
    _, h, w = skip.shape
    return _upsample2(coarse, weight)[:, :h, :w]


# ---- tests ------------------------------------------------------------------

@pytest.mark.parametrize('variant', ['32s', '16s', '8s'])
@pytest.mark.parametrize('h, w', [(1, 1), (33, 50), (64, 96), (75, 110)])
def test_reference_sizes_are_those_of_the_model(variant, h, w):
    mx.random.seed(0)
    net = d2lfcn.fcn_resnet18(3, pretrained=False, variant=variant)
    x = nd.zeros((1, 3, h, w))
    f8 = net.to_stride8(x)
    f16 = net.to_stride16(f8)
    fused = {'32s': net.to_stride32(f16), '16s': f16, '8s': f8}[variant]
    (fh, fw), (uh, uw) = fused_size(h, w, variant)
    assert fused.shape[2:] == (fh, fw)
    scores = nd.zeros((1, 3, fh, fw))
    assert net.up_final(scores).shape[2:] == (uh, uw)


CHECKERS = {
    'check_fused_size': (
        fused_size, [fused_size_floor, fused_size_uncropped_chain,
                     fused_size_after_crop]),
    'check_fuse_skip': (
        fuse_skip, [fuse_skip_no_crop, fuse_skip_last_rows,
                    fuse_skip_uncropped_start, fuse_skip_swapped_channels,
                    fuse_skip_without_skip]),
}


def test_checkers_diagnose_the_typical_mistakes():
    assert 'rounded down' in repr(d2lfcn.check_fused_size(fused_size_floor))
    assert 'before slice_like crops' in repr(
        d2lfcn.check_fused_size(fused_size_uncropped_chain))
    assert 'before the final crop' in repr(
        d2lfcn.check_fused_size(fused_size_after_crop))
    assert 'expected shape' in repr(d2lfcn.check_fuse_skip(fuse_skip_no_crop))
    assert 'keeps the first' in repr(
        d2lfcn.check_fuse_skip(fuse_skip_last_rows))
    assert 'one fine row and column too far down' in repr(
        d2lfcn.check_fuse_skip(fuse_skip_uncropped_start))
    assert 'channels are swapped' in repr(
        d2lfcn.check_fuse_skip(fuse_skip_swapped_channels))
    assert 'add the skip scores' in repr(
        d2lfcn.check_fuse_skip(fuse_skip_without_skip))
