"""Checkers of chapter 4b: receptive fields, where a head paints, heads."""
import numpy as np
from mxnet import nd

from d2lfcn.exercises.common import _check, _compare_number, _resnet18_layers, _vgg16_fc6_layers
from d2lfcn.upsampling import bilinear_kernel
from d2lfcn.validate import error_line


def _receptive_field_brute_force(layers):
    """(field, jump, centre) of output cell 0, found without the recurrences:
    follow its window down, layer by layer, to every input pixel it can
    depend on (pixels of the padding included)."""
    cells = np.array([0])
    for k, s, p in reversed(layers):
        cells = np.unique((s * cells - p)[:, None] + np.arange(k))
    jump = int(np.prod([s for _, s, _ in layers]))
    return int(cells[-1] - cells[0] + 1), jump, (cells[0] + cells[-1]) / 2


def _receptive_field_variant(layers, mistake):
    """The recurrences with one typical slip: 'no jump' (kernels measured in
    pixels), 'new jump' (this layer's stride applied first), 'padding sign'
    or 'no padding' (in the centre)."""
    field, jump, centre = 1, 1, 0.0
    for k, s, p in layers:
        if mistake == 'new jump':
            jump *= s
        step = 1 if mistake == 'no jump' else jump
        shift = {'padding sign': -p, 'no padding': 0}.get(mistake, p)
        field += (k - 1) * step
        centre += ((k - 1) / 2 - shift) * step
        if mistake != 'new jump':
            jump *= s
    return field, jump, centre


def check_receptive_field(fn):
    """Exercise 4b.1: fn(layers) returns (field, jump, centre) of output cell
    0 of the layers (kernel, stride, padding), applied in order, in input
    pixels; compared with a pixel-by-pixel walk down the windows."""
    cases = []
    for name, layers in (
            ('a 3x3 convolution, padding 1', [(3, 1, 1)]),
            ('a 2x2 pooling, stride 2, no padding', [(2, 2, 0)]),
            ('a 3x3 pooling, stride 2, no padding', [(3, 2, 0)]),
            ('a 5x5 convolution with padding 4, then a 2x2 pooling',
             [(5, 1, 4), (2, 2, 0)]),
            ('two 3x3 convolutions, strides 2 and 1', [(3, 2, 1), (3, 1, 1)]),
            ('ResNet-18 to the end of stage 2', _resnet18_layers(2)),
            ('ResNet-18 to the end of stage 4', _resnet18_layers(4)),
            ('VGG-16 with pad 100, up to fc6', _vgg16_fc6_layers())):

        def case(fn, layers=layers):
            expected = _receptive_field_brute_force(layers)
            answer = fn([tuple(layer) for layer in layers])
            try:
                got = tuple(float(v) for v in answer)
            except (TypeError, ValueError):
                got = ()
            if len(got) != 3:
                return (f'expected a triple (field, jump, centre), got '
                        f'{answer!r:.80}')
            wrong = [i for i in range(3) if not np.isclose(got[i],
                                                           expected[i])]
            if not wrong:
                return None
            names = ('field', 'jump', 'centre')
            problem = ', '.join(f'{names[i]}: expected {expected[i]:g}, got '
                                f'{got[i]:g}' for i in wrong)
            hints = {
                'no jump': 'A kernel of k taps spans k - 1 steps of the grid '
                           'below it, and a step of that grid is not one '
                           'pixel once a stride has come before',
                'new jump': 'This layer\'s kernel slides over the grid below '
                            'it, whose spacing does not include this '
                            'layer\'s own stride yet',
                'padding sign': 'Padding puts p cells before cell 0 of the '
                                'grid below, and the window of output cell 0 '
                                'starts on the first of them: padding moves '
                                'the centre up and left',
                'no padding': 'The window of output cell 0 starts in the '
                              'padding, p cells before cell 0 of the grid '
                              'below'}
            for mistake, message in hints.items():
                variant = _receptive_field_variant(layers, mistake)
                if all(np.isclose(got[i], variant[i]) for i in wrong):
                    return f'{problem}. {message}'
            if wrong == [2] and expected[2] != round(expected[2]) and \
                    got[2] == round(got[2]):
                return (f'{problem}. The centre of an even number of pixels '
                        f'lies between two of them: it can be a half-integer')
            return problem
        cases.append((name, case))
    return _check('Exercise 4b.1 (receptive field, jump and centre)', fn,
                  cases)


def _head_output(kernel, stride, padding, output_padding, n, j):
    """The row profile of a bilinear Conv2DTranspose (one channel) fed n
    cells with a single 1 at cell j, or a string saying why it cannot run."""
    from mxnet import init
    from mxnet.gluon import nn
    if not 0 <= output_padding < stride:
        return (f'output_padding must be in 0..stride-1 (MXNet refuses '
                f'others), got {output_padding}')
    if padding < 0 or kernel < 1:
        return f'kernel >= 1 and padding >= 0 are needed, got {kernel}, {padding}'
    layer = nn.Conv2DTranspose(1, kernel, strides=stride, padding=padding,
                               output_padding=output_padding, in_channels=1,
                               use_bias=False)
    layer.initialize(init.Constant(bilinear_kernel(1, 1, kernel)))
    x = nd.zeros((1, 1, 1, n))
    x[0, 0, 0, j] = 1
    try:
        out = layer(x)[0, 0].asnumpy().astype(np.float64)
    except Exception as e:
        return f'the layer cannot run: {error_line(e, 120)}'
    return out[out.shape[0] // 2]


def check_head_for(fn):
    """Exercise 4b.2: fn(scale, centre) returns (kernel, padding,
    output_padding) of a bilinear transposed convolution with stride
    `scale` that maps n cells to exactly scale * n pixels and paints cell j
    with a tent peaking on pixel scale * j + centre; checked by running the
    layer."""
    cases = []
    for scale, centre, note in [
            (32, 0, "ResNet-18's stride-32 cells"),
            (32, 15.5, 'VGG: cells in the middle of their 32-pixel blocks'),
            (2, 0, 'the 2x fusion of FCN-16s on ResNet'),
            (2, 0.5, 'cells in the middle of 2-pixel blocks'),
            (8, 3.5, 'the middle of 8-pixel blocks'), (3, 1, ''),
            (16, 4, 'cells 4 pixels into their blocks')]:

        def case(fn, scale=scale, centre=centre):
            answer = fn(scale, centre)
            try:
                kernel, padding, output_padding = (int(v) for v in answer)
            except (TypeError, ValueError):
                return (f'expected three integers (kernel, padding, '
                        f'output_padding), got {answer!r:.80}')
            if (kernel % 2 == 0) != (centre != int(centre)):
                return (f'got kernel {kernel}, which cannot put a tent peak '
                        f'on pixel scale * j + {centre:g}: a kernel of k taps '
                        f'centres '
                        f'its tent (k - 1) / 2 taps in, so an odd kernel '
                        f'peaks on a pixel, an even one between two pixels')
            n, j = 5, 2
            profile = _head_output(kernel, scale, padding, output_padding,
                                   n, j)
            if isinstance(profile, str):
                return profile
            if profile.size != scale * n:
                return (f'{n} cells give {profile.size} pixels, expected '
                        f'{scale * n}: (n - 1) * stride + kernel - '
                        f'2 * padding + output_padding must be scale * n')
            peak = float((profile * np.arange(profile.size)).sum()
                         / profile.sum())
            if abs(peak - (scale * j + centre)) > 1e-6:
                return (f'the tent of cell {j} peaks on pixel {peak:g}, '
                        f'expected {scale * j + centre:g}: the padding '
                        f'moves it')
            if kernel not in (2 * scale - 1, 2 * scale):
                return (f'the tent is in place, but a bilinear tent that '
                        f'blends neighbouring cells is 2 * scale - 1 or '
                        f'2 * scale taps wide, got {kernel}')
            return None
        cases.append((f'scale {scale}, centre {centre:g}'
                      + (f' ({note})' if note else ''), case))
    return _check('Exercise 4b.2 (a head for a backbone)', fn, cases)


def _tent_centre_measured(j, layers):
    """Where the output of bilinear transposed convolutions `layers`
    ((kernel, stride, padding) each, applied in order) fed a single 1 at
    column j of a row of cells is centred: the centroid of that output."""
    from mxnet import init
    from mxnet.gluon import nn
    x = nd.zeros((1, 1, 1, 2 * j + 3))
    x[0, 0, 0, j] = 1
    for k, s, p in layers:
        layer = nn.Conv2DTranspose(1, k, strides=s, padding=p, in_channels=1,
                                   use_bias=False)
        layer.initialize(init.Constant(bilinear_kernel(1, 1, k)))
        x = layer(x)
    profile = x[0, 0].asnumpy().astype(np.float64).sum(axis=0)
    return float((profile * np.arange(profile.size)).sum() / profile.sum())


def _tent_centre_variant(j, layers, centre_tap=lambda k: (k - 1) / 2,
                         crop=True, scale_offsets=True):
    """tent_centre computed with one of the typical slips (for hints)."""
    position = float(j)
    for k, s, p in layers:
        if scale_offsets:
            position = s * position + centre_tap(k) - (p if crop else 0)
        else:
            position = s * position
    if not scale_offsets:  # every layer's offset added once, unscaled
        position += sum(centre_tap(k) - p for k, s, p in layers)
    return position


def check_tent_centre(fn):
    """Exercise 4b.4: fn(j, layers) returns the output pixel on which the
    tent of input cell j is centred after the bilinear transposed
    convolutions `layers` (a list of (kernel, stride, padding)), compared
    with the centroid of the real layers' output."""
    cases = []
    for j, layers, name in (
            (3, [(64, 32, 16)], 'the d2l head of FCN-32s'),
            (3, [(63, 32, 31)], 'the aligned head of FCN-32s'),
            (0, [(64, 32, 0)], ''), (2, [(4, 2, 1)], ''),
            (2, [(3, 2, 1)], ''), (2, [(5, 3, 2)], ''),
            (2, [(4, 2, 1), (32, 16, 8)],
             'a stride-32 score in the d2l FCN-16s'),
            (2, [(3, 2, 1), (31, 16, 15)],
             'a stride-32 score in the aligned FCN-16s'),
            (1, [(4, 2, 1), (4, 2, 1), (16, 8, 4)],
             'a stride-32 score in the d2l FCN-8s')):

        def case(fn, j=j, layers=layers):
            expected = _tent_centre_measured(j, layers)
            answer = fn(j, [tuple(layer) for layer in layers])
            try:
                got = float(np.asarray(answer, dtype=np.float64).reshape(()))
            except (TypeError, ValueError):
                return f'expected a number (a pixel position), got {answer!r}'
            stride = int(np.prod([s for k, s, p in layers]))
            hints = [
                (_tent_centre_variant(j, layers, crop=False),
                 'This is where the tent lands before the padding crops '
                 'the output: padding p removes p pixels from the top and '
                 'left, which moves everything up and left by p'),
                (_tent_centre_variant(j, layers, centre_tap=lambda k: k / 2),
                 'Off by half a pixel per layer: where is the centre of k '
                 'taps numbered 0 to k - 1?'),
                (_tent_centre_variant(j, layers, scale_offsets=False),
                 'A position in the output of one layer is an input '
                 'position of the next, so the next stride multiplies it, '
                 'offset included'),
                (stride * j + (stride - 1) / 2,
                 f'This is the middle of the {stride} output pixels under '
                 f'cell {j}, which is not always where the tent goes: follow '
                 f'the taps of these layers')]
            if expected != round(expected):
                hints += [(float(f(expected)), 'A tent with an even number '
                           'of taps is centred between two pixels: the '
                           'answer can be a half-integer')
                          for f in (np.floor, np.ceil)]
            return _compare_number(got, expected, [
                (w, m) for w, m in hints if not np.isclose(w, expected)])
        cases.append((f'cell {j}, layers {layers}' +
                      (f' ({name})' if name else ''), case))
    return _check('Exercise 4b.4 (where a tent lands)', fn, cases)
