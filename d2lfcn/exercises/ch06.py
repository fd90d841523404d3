"""Checkers of chapter 6: prediction on whole images."""
import functools

import numpy as np
from mxnet import nd

from d2lfcn.exercises.common import _check, _compare
from d2lfcn.validate import as_numpy


class _Stride32Toy:
    """A tiny stand-in for an FCN without its final crop: it takes only sides
    that are multiples of 32, averages each 32x32 block, scores the block's
    mean colour with fixed weights and repeats the scores over the block."""
    num_classes = 21

    def __init__(self, seed=61):
        rng = np.random.default_rng(seed)
        self.weight = rng.normal(0, 1, (21, 3))
        self.bias = rng.normal(0, 0.3, 21)

    def scores(self, x):
        """numpy (N, 3, H, W) -> numpy (N, 21, H, W)."""
        n, c, h, w = x.shape
        if c != 3 or h % 32 or w % 32:
            raise ValueError(
                f'the toy network of this checker, like an FCN without a '
                f'final crop, takes (N, 3, H, W) inputs with H and W '
                f'multiples of 32; got shape {tuple(x.shape)}')
        means = x.reshape(n, c, h // 32, 32, w // 32, 32).mean(axis=(3, 5))
        s = np.einsum('kc,nchw->nkhw', self.weight, means)
        s = s + self.bias[None, :, None, None]
        return s.repeat(32, axis=2).repeat(32, axis=3)

    def __call__(self, x):
        x = x if isinstance(x, nd.NDArray) else nd.array(x)
        return nd.array(self.scores(x.asnumpy().astype(np.float64)),
                        ctx=x.context)


def _normalised(image):
    from d2lfcn.data import RGB_MEAN, RGB_STD
    return ((image.astype(np.float64) / 255 - RGB_MEAN) / RGB_STD
            ).transpose(2, 0, 1)


def _toy_padded_prediction(toy, image, fill=None, where='bottom-right'):
    """The toy's class map of `image` padded to multiples of 32 (normalised
    fill 0, or the uint8 colour `fill` before normalising), cropped back."""
    h, w = image.shape[:2]
    dh, dw = -h % 32, -w % 32
    pads = ((0, dh), (0, dw)) if where == 'bottom-right' else ((dh, 0), (dw, 0))
    if fill is None:
        x = np.pad(_normalised(image), ((0, 0),) + pads)
    else:
        x = _normalised(np.pad(image, pads + ((0, 0),),
                               constant_values=fill))
    pred = toy.scores(x[None])[0].argmax(axis=0)
    return pred[:h, :w] if where == 'bottom-right' else pred[dh:, dw:]


def _blocky_image(rng, h, w, block=16):
    """uint8 (h, w, 3) of random colour blocks: block means vary a lot."""
    small = rng.integers(0, 256, (-(-h // block), -(-w // block), 3))
    big = small.repeat(block, axis=0).repeat(block, axis=1)[:h, :w]
    return np.ascontiguousarray(big.astype(np.uint8))


def _class_map(got, shape):
    """(problem, array): the answer as a float64 (h, w) array, or what is
    wrong with its type or shape."""
    try:
        got = as_numpy(got, np.float64)
    except (TypeError, ValueError):
        return f'expected an (h, w) array of class indices, got ' \
               f'{type(got).__name__}', None
    if got.ndim == 3 and got.shape[1:] == shape:
        return (f'expected shape {shape}, got {got.shape}: return the class '
                f'map (the argmax over the classes), not the scores'), None
    if got.ndim == 4 and got.shape[2:] == shape:
        return (f'expected shape {shape}, got {got.shape}: drop the batch '
                f'axis and take the argmax over the classes'), None
    if got.shape != shape:
        return f'expected shape {shape} (the image\'s own size), got ' \
               f'{got.shape}', None
    return None, got


def check_pad_predict(fn):
    """Exercise 6.1: fn(net, image, devices) pads the normalised image with 0
    at the bottom and right to multiples of 32, predicts, and crops the class
    map back to the image's size."""
    import mxnet as mx
    rng = np.random.default_rng(62)
    toy = _Stride32Toy()
    cases = []
    for h, w in [(33, 50), (64, 96), (1, 1), (100, 70)]:
        image = _blocky_image(rng, h, w)

        def case(fn, image=image):
            expected = _toy_padded_prediction(toy, image).astype(np.float64)
            problem, got = _class_map(fn(toy, image.copy(), [mx.cpu()]),
                                      image.shape[:2])
            if problem:
                return problem
            return _compare(got, expected, [
                (_toy_padded_prediction(toy, image, fill=0).astype(float),
                 'This is what padding the uint8 image with black (0) before '
                 'normalising gives: black becomes about -2 once normalised. '
                 'Pad the normalised image with 0, the mean colour'),
                (_toy_padded_prediction(toy, image, where='top-left')
                 .astype(float),
                 'This is what padding at the top and left gives; pad at the '
                 'bottom and right so that the image keeps its place on the '
                 'stride-32 grid')])
        cases.append((f'toy stride-32 network, {h}x{w} RGB image', case))

    def fcn_case(fn):
        from d2lfcn.data import normalize_image
        net = _random_fcn32s()
        image = _blocky_image(rng, 45, 70, block=9)
        x = normalize_image(image).expand_dims(0)
        x = nd.pad(x, mode='constant', pad_width=(0, 0, 0, 0, 0, 19, 0, 26))
        expected = net(x).argmax(axis=1)[0, :45, :70].asnumpy()
        problem, got = _class_map(fn(net, image.copy(), [mx.cpu()]), (45, 70))
        return problem or _compare(got, expected.astype(np.float64))
    cases.append(('fcn_resnet18 (random weights), 45x70 RGB image', fcn_case))
    return _check('Exercise 6.1 (pad to a multiple of 32, predict, crop)',
                  fn, cases)


def _tile_starts(n, tile, step):
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile + 1, step))
    if starts[-1] + tile < n:
        starts.append(n - tile)
    return starts


def _tile_reference(scores_fn, image, tile, overlap, vote=False):
    """Average (or, with vote, let the last tile's argmax win) over tiles."""
    h, w = image.shape[:2]
    total = count = None
    winner = np.zeros((h, w), np.int64)
    for top in _tile_starts(h, tile, tile - overlap):
        for left in _tile_starts(w, tile, tile - overlap):
            win = (slice(top, top + tile), slice(left, left + tile))
            s = np.asarray(scores_fn(image[win]), dtype=np.float64)
            if total is None:
                total = np.zeros((s.shape[0], h, w))
                count = np.zeros((h, w))
            total[(slice(None),) + win] += s
            count[win] += 1
            winner[win] = s.argmax(axis=0)
    return winner if vote else (total / count).argmax(axis=0)


class _ToyScores:
    """scores_fn of the tiling checker: per-pixel linear scores of the colour
    plus (optionally) a fixed pattern that depends on the position inside
    the window, as the scores of a real network do near a tile's border."""

    def __init__(self, tile, with_position, seed):
        rng = np.random.default_rng(seed)
        self.tile = tile
        self.weight = rng.normal(0, 1, (5, 3))
        self.position = (rng.normal(0, 1.5, (5, tile, tile)) if with_position
                         else np.zeros((5, tile, tile)))
        self.calls = 0

    def __call__(self, window):
        window = as_numpy(window, np.float64)
        if window.ndim != 3 or window.shape[2] != 3:
            raise ValueError(f'the toy scores_fn takes an (h, w, 3) window '
                             f'of the image, got shape {window.shape}')
        th, tw = window.shape[:2]
        if th > self.tile or tw > self.tile or th == 0 or tw == 0:
            raise ValueError(f'the toy scores_fn takes windows of 1 to '
                             f'{self.tile} pixels a side (the tile), got '
                             f'{th}x{tw}')
        self.calls += 1
        return (np.einsum('kc,hwc->khw', self.weight, window)
                + self.position[:, :th, :tw])


def check_tile_predict(fn):
    """Exercise 6.2: fn(scores_fn, image, tile, overlap) averages the class
    scores of overlapping tiles and returns the argmax per pixel."""
    rng = np.random.default_rng(63)
    cases = []
    for (h, w), tile, overlap, with_position in [
            ((50, 70), 32, 8, False), ((50, 70), 32, 8, True),
            ((20, 100), 32, 16, True), ((64, 64), 32, 0, True),
            ((90, 45), 40, 30, True)]:
        image = rng.random((h, w, 3))

        def case(fn, image=image, tile=tile, overlap=overlap,
                 with_position=with_position, seed=h * w + tile, h=h, w=w):
            scores_fn = _ToyScores(tile, with_position, seed)
            expected = _tile_reference(scores_fn, image, tile, overlap)
            needed = scores_fn.calls
            scores_fn.calls = 0
            answer = fn(scores_fn, image.copy(), tile, overlap)
            calls = scores_fn.calls
            problem, got = _class_map(answer, (h, w))
            if problem:
                return problem
            problem = _compare(got, expected.astype(np.float64), [
                (_tile_reference(scores_fn, image, tile, overlap, vote=True)
                 .astype(float),
                 'This is what letting each tile overwrite the argmax of the '
                 'tiles before it gives: add up the scores of every tile '
                 'that covers a pixel, then take the argmax')])
            if problem and calls != needed:
                problem += (f'. Your function scored {calls} '
                            f'windows; this tiling has {needed}: does the '
                            f'last tile on each side end at the border?')
            return problem
        kind = 'position-dependent scores' if with_position else \
            'scores that depend on the pixel only'
        cases.append((f'{h}x{w} image, tile {tile}, overlap {overlap}, '
                      f'{kind}', case))
    return _check('Exercise 6.2 (overlapping tiles averaged)', fn, cases)


def _shift_up_left(image, dy, dx, wrap=False):
    """image[y + dy, x + dx], zeros past the bottom and right edges (or the
    first rows and columns wrapped around, with wrap=True)."""
    if wrap:
        return np.roll(image, (-dy, -dx), axis=(0, 1))
    shifted = np.zeros_like(image)
    h, w = image.shape
    shifted[:h - dy, :w - dx] = image[dy:, dx:]
    return shifted


def _stitch_reference(coarse_fn, image, f, mistake=None):
    """Shift-and-stitch of coarse_fn over image (H, W), or one of its typical
    mistakes: 'down' (shifted down and right), 'wrap', 'swap' (dy and dx
    swapped), 'tile' (the outputs laid side by side, not interlaced)."""
    h, w = image.shape
    out = np.zeros((h, w))
    for dy in range(f):
        for dx in range(f):
            if mistake == 'down':
                shifted = np.zeros_like(image)
                shifted[dy:, dx:] = image[:h - dy, :w - dx]
            else:
                shifted = _shift_up_left(image, dy, dx, mistake == 'wrap')
            coarse = np.asarray(coarse_fn(shifted), dtype=np.float64)
            ch, cw = coarse.shape
            if mistake == 'swap':
                out[dx::f, dy::f] = coarse
            elif mistake == 'tile':
                out[dy * ch:(dy + 1) * ch, dx * cw:(dx + 1) * cw] = coarse
            else:
                out[dy::f, dx::f] = coarse
    return out


def _pool(x, f, reduce):
    h, w = x.shape
    return reduce(x.reshape(h // f, f, w // f, f), axis=(1, 3))


def _conv_same(x, kernel):
    """2-D cross-correlation with zero padding, output the size of x."""
    k = kernel.shape[0]
    padded = np.pad(x, k // 2)
    return sum(kernel[a, b] * padded[a:a + x.shape[0], b:b + x.shape[1]]
               for a in range(k) for b in range(k))


def check_shift_and_stitch(fn):
    """Exercise 6.3: fn(coarse_fn, image, f) runs coarse_fn (a stride-f net:
    (H, W) -> (H / f, W / f), cell i anchored on pixel f * i) on the image
    shifted up and left by (dy, dx) for 0 <= dy, dx < f, and interlaces the
    outputs into an (H, W) map; checked on pooling nets and a small
    convolutional net, and against the dense (stride-1) max filter."""
    rng = np.random.default_rng(63)
    k1, k2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))

    def small_net(x):  # conv, ReLU, 2x2 max pooling, conv: stride 2
        return _conv_same(_pool(np.maximum(_conv_same(x, k1), 0), 2, np.max),
                          k2)
    nets = [
        ('2x2 max pooling', 2, lambda x: _pool(x, 2, np.max), (8, 10)),
        ('4x4 max pooling', 4, lambda x: _pool(x, 4, np.max), (12, 16)),
        ('3x3 blur, then 3x3 mean pooling', 3,
         lambda x: _pool(_conv_same(x, np.ones((3, 3)) / 9), 3, np.mean),
         (9, 12)),
        ('conv, ReLU, 2x2 max pooling, conv', 2, small_net, (10, 12)),
        ('f = 1 (the net itself)', 1, lambda x: 2 * x, (5, 7))]
    cases = []
    for description, f, net, shape in nets:

        def case(fn, f=f, net=net, shape=shape):
            image = rng.normal(size=shape)
            expected = _stitch_reference(net, image, f)
            got = fn(net, image.copy(), f)
            problem = _compare(got, expected, [
                (_stitch_reference(net, image, f, 'down'),
                 'You shifted the image down and right. Cell i of the '
                 'shifted image must see the pixels from f * i + dy on, so '
                 'shift it up and left: drop its first dy rows and dx '
                 'columns'),
                (_stitch_reference(net, image, f, 'wrap'),
                 'Only the last rows and columns are wrong: the shifted '
                 'image wraps around (as np.roll does); fill what comes in '
                 'past the edge with zeros'),
                (_stitch_reference(net, image, f, 'swap'),
                 'The vertical and horizontal shifts are swapped: the '
                 'output of shift (dy, dx) goes to rows dy, dy + f, ... and '
                 'columns dx, dx + f, ...'),
                (_stitch_reference(net, image, f, 'tile'),
                 'The outputs are laid side by side; interlace them: cell i '
                 'of shift dy belongs on row f * i + dy')])
            return problem
        cases.append((f'{description}, {shape[0]}x{shape[1]} image, f = {f}',
                      case))

    def dense_case(fn):
        image = rng.normal(size=(12, 12))
        padded = np.pad(image, ((0, 3), (0, 3)))
        dense = np.max([padded[a:a + 12, b:b + 12] for a in range(4)
                        for b in range(4)], axis=0)
        return _compare(fn(lambda x: _pool(x, 4, np.max), image.copy(), 4),
                        dense)
    cases.append(('4x4 max pooling stitched = the 4x4 max filter at stride 1 '
                  '(filter rarefaction)', dense_case))
    return _check('Exercise 6.3 (shift-and-stitch)', fn, cases)


@functools.lru_cache(maxsize=None)
def _random_fcn32s():
    """fcn_resnet18(21) with random weights, built once per process: the
    checkers only read it."""
    from d2lfcn.model import fcn_resnet18
    return fcn_resnet18(21, pretrained=False)
