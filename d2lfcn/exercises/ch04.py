"""Checkers of chapter 4: the sizes and the parameters of FCN-32s."""
import functools

import numpy as np
from mxnet import nd
from mxnet.gluon import nn

from d2lfcn.exercises.common import _check
from d2lfcn.model import bilinear_upsampler, fcn_resnet18


@functools.lru_cache(maxsize=1)
def _fcn32s():
    """One FCN-32s for every size case (the sizes do not depend on the
    weights), built on first use."""
    return fcn_resnet18(3, pretrained=False)


def _measured_sizes(height, width):
    """((rows, cols) of the stride-32 scores, (rows, cols) upsampled before
    the crop), measured on a real FCN-32s."""
    net = _fcn32s()
    scores = net.score32(net.features(nd.zeros((1, 3, height, width)))[2])
    return tuple(scores.shape[2:]), tuple(net.up_final(scores).shape[2:])


def check_fcn_sizes(fn):
    """Exercise 4.2: fn(height, width) returns ((rows, cols), (up_rows,
    up_cols)): the stride-32 score map of FCN-32s for an image of that size,
    and the upsampled scores before the final crop; measured on the net."""
    cases = []
    for h, w in [(320, 480), (65, 97), (1, 1), (31, 33), (32, 64), (33, 65),
                 (250, 187), (333, 517)]:

        def case(fn, h=h, w=w):
            expected = _measured_sizes(h, w)
            got = fn(h, w)
            try:
                got = tuple(tuple(int(v) for v in pair) for pair in got)
            except (TypeError, ValueError):
                return (f'expected ((rows, cols), (up_rows, up_cols)), got '
                        f'{got!r}')
            if got == expected:
                return None
            text = f'expected {expected}, got {got}'
            cells = expected[0]
            if got[0] != cells and got[0] == (h // 32, w // 32):
                return (text + '. Every stride-2 layer rounds up, so a side '
                        'of n pixels gives ceil(n / 32) cells, not n // 32')
            if got[0] == cells and got[1] == (h, w):
                return (text + '. The upsampler returns 32 pixels per cell; '
                        'the crop to the image size comes after it')
            return text
        cases.append((f'a {h}x{w} image', case))
    return _check('Exercise 4.2 (the sizes of FCN-32s)', fn, cases)


def _measured_parameters(num_classes, scale, learnable):
    score = nn.Conv2D(num_classes, kernel_size=1, in_channels=512)
    up = bilinear_upsampler(num_classes, scale, learnable=learnable)
    counts = []
    for layer in (score, up):
        layer.initialize()
        counts.append(sum(int(np.prod(p.shape))
                          for p in layer.collect_params().values()))
    return tuple(counts)


def check_head_parameters(fn):
    """Exercise 4.3: fn(num_classes, scale, learnable) returns the numbers of
    parameters (weights and biases) of the 1x1 score layer on 512 channels
    and of the aligned final upsampler by `scale` (fixed: one filter per
    class; learnable: a full class-to-class layer); counted on the layers."""
    cases = []
    for c, s, learn in [(21, 32, False), (21, 32, True), (21, 8, False),
                        (2, 16, True), (5, 2, True), (1, 4, False)]:

        def case(fn, c=c, s=s, learn=learn):
            expected = _measured_parameters(c, s, learn)
            got = fn(c, s, learn)
            try:
                got = tuple(int(v) for v in got)
            except (TypeError, ValueError):
                return f'expected (score, upsampler), got {got!r}'
            if got == expected:
                return None
            text = f'expected {expected}, got {got}'
            k = 2 * s - 1
            if got[0] == 512 * c:
                return text + '. The score layer has a bias per class too'
            if got[1] in (c * (2 * s) ** 2, c * c * (2 * s) ** 2):
                return (text + f'. The aligned head has kernels of 2s - 1 = '
                        f'{k} taps, not 2s')
            if learn and got[1] == c * k * k:
                return (text + '. A learnable upsampler maps every class to '
                        'every class: one kernel per (input, output) pair')
            if not learn and got[1] == c * c * k * k:
                return (text + '. The fixed upsampler has one filter per '
                        'class (a depthwise layer), not one per pair')
            return text
        cases.append((f'{c} classes, x{s}, '
                      f'{"learnable" if learn else "fixed"}', case))
    return _check('Exercise 4.3 (the parameters of a head)', fn, cases)
