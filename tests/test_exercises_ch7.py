"""The chapter-7 checkers accept the reference solutions, reject typical
mistakes with a message that says what is wrong, and report stubs as not
solved yet; the reference sizes are those of the real model."""
import numpy as np
import pytest

import d2lfcn
from d2lfcn.exercises.common import _resnet18_layers, _vgg16_fc6_layers

from helpers import solution


def stub(*args):
    raise NotImplementedError


# ---- reference solutions: the notebooks' solution cells ------------------

block_oracle = solution('07', 'block_oracle')


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


fuse_skip = solution('07', 'fuse_skip')


# ---- typical wrong answers ------------------------------------------------

def oracle_counting_255(label, stride):
    out = label.copy()
    h, w = label.shape
    for i in range(0, h, stride):
        for j in range(0, w, stride):
            values, counts = np.unique(label[i:i + stride, j:j + stride],
                                       return_counts=True)
            out[i:i + stride, j:j + stride] = values[counts.argmax()]
    return out


def oracle_whole_blocks_only(label, stride):
    h, w = label.shape
    return block_oracle(label[:h // stride * stride or h,
                              :w // stride * stride or w], stride)


def oracle_keeps_255(label, stride):
    painted = block_oracle(label, stride)
    h, w = label.shape
    for i in range(0, h, stride):
        for j in range(0, w, stride):
            if (label[i:i + stride, j:j + stride] == 255).all():
                painted[i:i + stride, j:j + stride] = 255
    return painted


def oracle_top_left_pixel(label, stride):
    corner = label[::stride, ::stride]
    painted = np.repeat(np.repeat(corner, stride, axis=0), stride, axis=1)
    return painted[:label.shape[0], :label.shape[1]]


def _cell_position(layers):
    """(stride, offset): cell i of the last map of (kind, k, s, p) layers is
    centred on input pixel stride * i + offset (chapter 4b's two rules)."""
    stride, offset = 1, 0
    for kind, k, s, p in layers:
        shift = (k - 1) / 2 - p
        if kind == 'conv':
            offset += stride * shift
            stride *= s
        else:
            stride /= s
            offset -= stride * shift
    return stride, offset


def _as_convs(layers):
    return [('conv',) + tuple(layer) for layer in layers]


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

def test_reference_positions_give_the_fcn_reference_crop_offsets():
    """The crops of shelhamer/fcn.berkeleyvision.org's VGG-16 nets (pad 100):
    19 (FCN-32s), 5 and 27 (FCN-16s), 9 and 31 (FCN-8s)."""
    vgg, up2 = _as_convs(_vgg16_fc6_layers()[:-1]), [('deconv', 4, 2, 0)]
    pools = [i for i, layer in enumerate(vgg) if layer == ('conv', 2, 2, 0)]
    score_fr = vgg + [('conv', 7, 1, 0), ('conv', 1, 1, 0), ('conv', 1, 1, 0)]

    def crop(coarse, fine):   # how far the fine map starts before the coarse
        (s1, o1), (s2, o2) = _cell_position(coarse), _cell_position(fine)
        assert s1 == s2
        return (o1 - o2) / s1
    image = []
    assert crop(score_fr + [('deconv', 64, 32, 0)], image) == -19
    assert crop(score_fr + up2, vgg[:pools[3] + 1]) == 5
    assert crop(score_fr + up2 + [('deconv', 32, 16, 0)], image) == -27
    assert crop(score_fr + up2 + up2, vgg[:pools[2] + 1]) == 9
    assert crop(score_fr + up2 + up2 + [('deconv', 16, 8, 0)], image) == -31


def test_resnet_chain_matches_the_model_and_heads():
    resnet = _as_convs(_resnet18_layers())
    assert _cell_position(resnet) == (32, 0)
    assert _cell_position(resnet + [('deconv', 63, 32, 31)]) == (1, 0)
    assert _cell_position(resnet + [('deconv', 64, 32, 16)]) == (1, -15.5)


CHECKERS = {
    'check_block_oracle': (
        block_oracle, [oracle_counting_255, oracle_whole_blocks_only,
                       oracle_keeps_255, oracle_top_left_pixel]),
    'check_fuse_skip': (
        fuse_skip, [fuse_skip_no_crop, fuse_skip_last_rows,
                    fuse_skip_uncropped_start, fuse_skip_swapped_channels,
                    fuse_skip_without_skip]),
}


@pytest.mark.parametrize('checker, wrong, phrase', [
    ('check_block_oracle', oracle_counting_255, 'count only the classes'),
    ('check_block_oracle', oracle_whole_blocks_only, 'paint them too'),
    ('check_block_oracle', oracle_keeps_255, 'paint it 0'),
    ('check_fuse_skip', fuse_skip_no_crop, 'expected shape'),
    ('check_fuse_skip', fuse_skip_last_rows, 'keeps the first'),
    ('check_fuse_skip', fuse_skip_uncropped_start,
     'one fine row and column too far down'),
    ('check_fuse_skip', fuse_skip_swapped_channels, 'channels are swapped'),
    ('check_fuse_skip', fuse_skip_without_skip, 'add the skip scores')],
    ids=lambda x: getattr(x, '__name__', None))
def test_typical_mistakes_get_their_diagnosis(checker, wrong, phrase):
    assert phrase in repr(getattr(d2lfcn, checker)(wrong))
