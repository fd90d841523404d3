"""Checkers of chapter 7: FCN-16s and FCN-8s."""
import functools

import numpy as np
from mxnet import nd

from d2lfcn.convolution import trans_conv
from d2lfcn.exercises.common import _check, _compare, _resnet18_layers, _vgg16_fc6_layers
from d2lfcn.upsampling import bilinear_kernel


def _cell_position_reference(layers, mistake=None):
    """(stride, offset) of the last map of `layers` in input pixels, or one
    of the typical mistakes: 'new_stride' (the shift counted in the new
    stride), 'pad_sign', 'no_half' (the (k - 1) / 2 left out),
    'deconv_as_conv'."""
    stride, offset = 1.0, 0.0
    for kind, k, s, p in layers:
        shift = (k - 1) / 2 + (p if mistake == 'pad_sign' else -p)
        if mistake == 'no_half':
            shift = -p
        if kind == 'conv' or mistake == 'deconv_as_conv':
            if mistake == 'new_stride':
                stride *= s
                offset += stride * shift
            else:
                offset += stride * shift
                stride *= s
        else:
            stride /= s
            offset -= stride * shift
    return stride, offset


def _as_convs(layers):
    """(kernel, stride, padding) layers as ('conv', kernel, stride, padding)."""
    return [('conv',) + tuple(layer) for layer in layers]


def check_cell_position(fn):
    """Exercise 7.1: fn(layers) returns (stride, offset): cell i of the last
    map of a chain of ('conv' or 'deconv', kernel, stride, padding) layers is
    centred on input pixel stride * i + offset. The cases include the FCN
    reference's VGG-16 nets, whose crop offsets (19; 5 and 27; 9 and 31)
    follow from the answers."""
    vgg = _as_convs(_vgg16_fc6_layers()[:-1])      # up to pool5
    score_fr = _as_convs(_vgg16_fc6_layers() + [(1, 1, 0), (1, 1, 0)])
    pools = [i for i, layer in enumerate(vgg) if layer == ('conv', 2, 2, 0)]
    pool3, pool4 = vgg[:pools[2] + 1], vgg[:pools[3] + 1]
    resnet = _as_convs(_resnet18_layers())
    cases_ = [
        ('a 3x3 convolution with padding 1', [('conv', 3, 1, 1)], None),
        ("VGG's 2x2 max pooling", [('conv', 2, 2, 0)], None),
        ("ResNet's stem: 7x7 conv, stride 2, pad 3, then 3x3 max pool, "
         "stride 2, pad 1", resnet[:2], None),
        ('one transposed convolution (4, 2, 1)', [('deconv', 4, 2, 1)], None),
        ('VGG-16 with pad 100, up to score_fr', score_fr, None),
        ('the reference FCN-32s: score_fr, then upscore (64, 32, 0)',
         score_fr + [('deconv', 64, 32, 0)],
         'its crop offset is 19 = -offset'),
        ('the reference FCN-16s: upscore2 (4, 2, 0) of score_fr, and pool4',
         None, 'score_pool4 is cropped by 5 to match it'),
        ('the reference FCN-8s: upscore_pool4 and pool3', None,
         'score_pool3 is cropped by 9'),
        ('ResNet-18 to stride 32, then the aligned head (63, 32, 31)',
         resnet + [('deconv', 63, 32, 31)], None),
        ('ResNet-18 to stride 32, then the d2l head (64, 32, 16)',
         resnet + [('deconv', 64, 32, 16)], 'half a cell off: no crop fixes '
         'a half pixel')]
    up2 = [('deconv', 4, 2, 0)]
    pairs = {6: (score_fr + up2, pool4 + [('conv', 1, 1, 0)], 5),
             7: (score_fr + up2 + up2, pool3 + [('conv', 1, 1, 0)], 9)}
    cases = []
    for n, (description, layers, note) in enumerate(cases_):

        def case(fn, layers=layers, n=n):
            chains = [layers] if layers is not None else list(pairs[n][:2])
            for chain in chains:
                expected = np.array(_cell_position_reference(chain))
                answer = fn(list(chain))
                try:
                    got = np.asarray(answer, dtype=np.float64)
                except (TypeError, ValueError):
                    return f'expected a pair (stride, offset), got {answer!r:.80}'
                if got.shape != (2,):
                    return f'expected a pair (stride, offset), got {answer!r:.80}'
                hints = [(np.array(_cell_position_reference(chain, m)), text)
                         for m, text in [
                    ('new_stride', 'A layer shifts its cells by '
                     '((k - 1) / 2 - p) of *its input* cells: multiply by '
                     'the stride before the layer, not after'),
                    ('pad_sign', 'Padding moves the first window up and '
                     'left (into the padding): subtract it'),
                    ('no_half', 'A window of k taps is centred (k - 1) / 2 '
                     'taps after its first one'),
                    ('deconv_as_conv', 'A transposed convolution goes the '
                     'other way: it divides the stride, and its output '
                     'pixel s * i + (k - 1) / 2 - p is where input cell i '
                     'lands')]]
                problem = _compare(got, expected, hints)
                if problem:
                    return problem
            return None
        cases.append((description + (f' ({note})' if note else ''), case))
    return _check('Exercise 7.1 (where the cells of a chain of layers sit)',
                  fn, cases)


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
