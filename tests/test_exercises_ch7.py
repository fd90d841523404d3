"""The chapter-7 checkers accept the reference solutions, reject typical
mistakes with a message that says what is wrong, and report stubs as not
solved yet; the reference sizes are those of the real model."""
import numpy as np
import pytest

import d2lfcn
from d2lfcn.exercises.ch07 import _as_convs
from d2lfcn.exercises.common import _resnet18_layers, _vgg16_fc6_layers


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (what the teacher edition holds) ----------------

def cell_position(layers):
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

def position_new_stride(layers):
    stride, offset = 1, 0
    for kind, k, s, p in layers:
        if kind == 'conv':
            stride *= s
            offset += stride * ((k - 1) / 2 - p)
        else:
            stride /= s
            offset -= stride * ((k - 1) / 2 - p)
    return stride, offset


def position_padding_added(layers):
    return cell_position([(kind, k, s, -p) for kind, k, s, p in layers])


def position_deconv_as_conv(layers):
    return cell_position([('conv', k, s, p) for _, k, s, p in layers])


def position_stride_only(layers):
    return cell_position(layers)[0], 0


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
        (s1, o1), (s2, o2) = cell_position(coarse), cell_position(fine)
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
    assert cell_position(resnet) == (32, 0)
    assert cell_position(resnet + [('deconv', 63, 32, 31)]) == (1, 0)
    assert cell_position(resnet + [('deconv', 64, 32, 16)]) == (1, -15.5)


CHECKERS = {
    'check_cell_position': (
        cell_position, [position_new_stride, position_padding_added,
                        position_deconv_as_conv, position_stride_only]),
    'check_fuse_skip': (
        fuse_skip, [fuse_skip_no_crop, fuse_skip_last_rows,
                    fuse_skip_uncropped_start, fuse_skip_swapped_channels,
                    fuse_skip_without_skip]),
}


@pytest.mark.parametrize('checker, wrong, phrase', [
    ('check_cell_position', position_new_stride, 'before the layer, not after'),
    ('check_cell_position', position_padding_added, 'subtract it'),
    ('check_cell_position', position_deconv_as_conv, 'other way'),
    ('check_fuse_skip', fuse_skip_no_crop, 'expected shape'),
    ('check_fuse_skip', fuse_skip_last_rows, 'keeps the first'),
    ('check_fuse_skip', fuse_skip_uncropped_start,
     'one fine row and column too far down'),
    ('check_fuse_skip', fuse_skip_swapped_channels, 'channels are swapped'),
    ('check_fuse_skip', fuse_skip_without_skip, 'add the skip scores')],
    ids=lambda x: getattr(x, '__name__', None))
def test_typical_mistakes_get_their_diagnosis(checker, wrong, phrase):
    assert phrase in repr(getattr(d2lfcn, checker)(wrong))
