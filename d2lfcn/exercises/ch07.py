"""Checkers of chapter 7: FCN-16s and FCN-8s."""
import functools

import numpy as np
from mxnet import nd

from d2lfcn.convolution import trans_conv
from d2lfcn.exercises.common import _check, _compare
from d2lfcn.upsampling import bilinear_kernel


def _block_oracle_reference(label, stride, mistake=None):
    """Every stride x stride block of label (from the top left; the last ones
    may be smaller) painted with its most frequent class, 255 not counted,
    ties to the smaller class, 0 for a block of only 255. mistake:
    'count_255' (255 may win), 'whole_blocks' (partial blocks dropped),
    'keep_255' (a block of only 255 stays 255)."""
    label = np.asarray(label)
    h, w = label.shape
    out = np.zeros((h, w), label.dtype)
    for top in range(0, h, stride):
        for left in range(0, w, stride):
            if mistake == 'whole_blocks' and (top + stride > h
                                              or left + stride > w):
                continue
            block = label[top:top + stride, left:left + stride].ravel()
            kept = block if mistake == 'count_255' else block[block != 255]
            if kept.size == 0:
                value = 255 if mistake == 'keep_255' else 0
            else:
                values, counts = np.unique(kept, return_counts=True)
                value = values[counts.argmax()]     # np.unique sorts: ties
            out[top:top + stride, left:left + stride] = value
    if mistake == 'whole_blocks':
        out = out[:h - h % stride or h, :w - w % stride or w]
    return out


def check_block_oracle(fn):
    """Exercise 7.1: fn(label, stride) returns the (H, W) map in which every
    stride x stride block of the (H, W) label, counted from the top left
    (the last row and column of blocks may be smaller), is painted with the
    block's most frequent class; 255 is not counted, ties go to the smaller
    class, and a block of only 255 is painted 0."""
    rng = np.random.default_rng(71)
    hand = np.array([[0, 0, 3, 3],
                     [0, 5, 3, 255],
                     [5, 5, 255, 255],
                     [5, 0, 255, 255]], np.float32)
    object_ = np.zeros((37, 45), np.float32)
    object_[5:30, 9:40] = 255
    object_[7:28, 11:38] = 12
    noisy = rng.integers(0, 6, size=(23, 30)).astype(np.float32)
    noisy[rng.random((23, 30)) < 0.2] = 255
    cases = []
    for description, label, stride in [
            ('a 4x4 label in 2x2 blocks, one of only 255', hand, 2),
            ('an object of class 12 with its 255 border, stride 8 (the last '
             'blocks are smaller)', object_, 8),
            ('the same object at stride 32 (one block row)', object_, 32),
            ('noisy labels with 20% ignored pixels, stride 4', noisy, 4),
            ('stride 1 (every pixel its own block)', noisy, 1)]:

        def case(fn, label=label, stride=stride):
            expected = _block_oracle_reference(label, stride)
            got = fn(label.copy(), stride)
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                return f'expected an array, got {type(got).__name__}'
            if got.shape != expected.shape:
                whole = _block_oracle_reference(label, stride, 'whole_blocks')
                problem = f'expected shape {expected.shape}, got {got.shape}'
                if got.shape == whole.shape:
                    problem += ('. The blocks at the bottom and right edge '
                                'are smaller than stride x stride; paint '
                                'them too')
                return problem
            return _compare(got, expected.astype(np.float64), [
                (_block_oracle_reference(label, stride, m).astype(np.float64),
                 text) for m, text in [
                    ('keep_255', 'A block of only 255 has no class to '
                                 'paint; paint it 0 (background)'),
                    ('count_255', 'The 255s were counted and won some '
                                  'blocks; count only the classes')]])
        cases.append((description, case))
    return _check('Exercise 7.1 (the best map a grid can paint)', fn, cases)


@functools.lru_cache(maxsize=None)
def _fcn16s_fusion():
    """(coarse, skip, fused, weight) of the stride-16 fusion of an FCN-16s
    with random skip and upsampling weights, as float64 numpy arrays."""
    import mxnet as mx
    from d2lfcn.model import fcn_resnet18
    mx.random.seed(72)
    net = fcn_resnet18(3, pretrained=False, variant='16s')
    for p in (net.score16.weight, net.up32to16.weight):
        p.set_data(nd.random.normal(scale=0.05, shape=p.shape))
    x = nd.random.normal(shape=(1, 3, 75, 110))
    _, f16, f32 = net.features(x)
    s32 = net.score32(f32)
    skip = net.score16(f16)
    fused = nd.slice_like(net.up32to16(s32), f16, axes=(2, 3)) + skip
    arrays = [a[0].asnumpy().astype(np.float64) for a in (s32, skip, fused)]
    return (*arrays, net.up32to16.weight.data().asnumpy().astype(np.float64))


def _upsample2_reference(coarse, weight):
    """The model's own 2x upsampler with `weight` applied to coarse (C, h, w):
    (C_out, 2h, 2w), uncropped."""
    from d2lfcn.model import bilinear_upsampler
    c_in, c_out = weight.shape[:2]
    layer = bilinear_upsampler(c_out, 2)
    layer.initialize()
    layer.weight.set_data(nd.array(weight, dtype='float64').astype('float32'))
    return layer(nd.array(coarse[None], dtype='float32'))[0].asnumpy() \
        .astype(np.float64)


def _fusion_problem(fn, coarse, skip, weight, expected=None):
    """What is wrong with fn's fusion of coarse into skip, or None."""
    c, h, w = skip.shape
    up = _upsample2_reference(coarse, weight)
    if expected is None:
        expected = up[:, :h, :w] + skip
    swapped = _upsample2_reference(coarse, weight.transpose(1, 0, 2, 3))
    got = fn(coarse.copy(), skip.copy(), weight.copy())
    # the full transposed convolution, before any padding is cropped
    full = np.stack([sum(trans_conv(coarse[i], weight[i, o], 2, 0)
                         for i in range(weight.shape[0]))
                     for o in range(weight.shape[1])])
    return _compare(got, expected, [
        (up[:, -h:, -w:] + skip,
         'You kept the last rows and columns; slice_like keeps the first '
         'ones (the extra rows of the upsampled map lie past the bottom and '
         'right of the image)'),
        (full[:, :h, :w] + skip,
         'Your scores are one fine row and column too far down and right: '
         'padding 1 crops the first row and column of the full transposed '
         'convolution (the output padding only adds at the end)'),
        (swapped[:, :h, :w] + skip,
         'The channels are swapped: Gluon stores a Conv2DTranspose weight as '
         '(in_channels, out_channels, k, k), so weight[i, o] carries input '
         'channel i to output channel o'),
        (up[:, :h, :w],
         'This is the cropped upsampling alone: add the skip scores')])


def check_fuse_skip(fn):
    """Exercise 7.2: fn(coarse, skip, weight) upsamples numpy scores coarse
    (C, h, w) by 2 with a Conv2DTranspose weight (C, C, 3, 3) (stride 2,
    padding 1, output padding 1), crops to the skip scores' (C, H, W) and
    adds them."""
    rng = np.random.default_rng(72)
    cases = []
    for c, (h, w), (sh, sw), kind in [
            (1, (3, 4), (6, 8), 'bilinear'), (2, (3, 4), (5, 7), 'random'),
            (3, (2, 5), (4, 9), 'random'), (2, (1, 1), (1, 2), 'random')]:
        coarse = rng.normal(size=(c, h, w))
        skip = rng.normal(size=(c, sh, sw))
        weight = (bilinear_kernel(c, c, 3).asnumpy().astype(np.float64)
                  if kind == 'bilinear' else rng.normal(size=(c, c, 3, 3)))

        def case(fn, coarse=coarse, skip=skip, weight=weight):
            return _fusion_problem(fn, coarse, skip, weight)
        cases.append((f'{c} class(es), {h}x{w} scores into {sh}x{sw}, '
                      f'{kind} weight', case))

    def model_case(fn):
        coarse, skip, fused, weight = _fcn16s_fusion()
        return _fusion_problem(fn, coarse, skip, weight, expected=fused)
    cases.append(('the stride-16 fusion of fcn_resnet18(3, variant=\'16s\') '
                  'with random skip and upsampling weights, 75x110 input',
                  model_case))
    return _check('Exercise 7.2 (2x upsample, crop and add)', fn, cases)
