"""The chapter-6 checkers accept the reference solutions, reject typical
mistakes with a message that says what is wrong, and report stubs as not
solved yet."""
import numpy as np
import pytest
from mxnet import nd

import d2lfcn
from d2lfcn.data import normalize_image
from d2lfcn.prediction import as_rgb_image

from helpers import solution


def stub(*args):
    raise NotImplementedError


# ---- reference solutions: the notebooks' solution cells ------------------

pad_predict = solution('06', 'pad_predict')


def _starts(n, tile, overlap):
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile + 1, tile - overlap))
    return starts + [n - tile] if starts[-1] + tile < n else starts


tile_predict = solution('06', 'tile_predict')


shift_and_stitch = solution('06', 'shift_and_stitch')


# ---- typical wrong answers ------------------------------------------------

def pad_predict_no_crop(net, image, devices):
    x = normalize_image(as_rgb_image(image)).expand_dims(0)
    h, w = x.shape[2:]
    x = nd.pad(x, mode='constant',
               pad_width=(0, 0, 0, 0, 0, -h % 32, 0, -w % 32))
    return net(x)[0].argmax(axis=0).asnumpy()


def pad_predict_black(net, image, devices):
    image = as_rgb_image(image)
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % 32), (0, -w % 32), (0, 0)))
    scores = net(normalize_image(padded).expand_dims(0))
    return scores[0, :, :h, :w].argmax(axis=0).asnumpy()


def pad_predict_top_left(net, image, devices):
    x = normalize_image(as_rgb_image(image)).expand_dims(0)
    h, w = x.shape[2:]
    dh, dw = -h % 32, -w % 32
    x = nd.pad(x, mode='constant', pad_width=(0, 0, 0, 0, dh, 0, dw, 0))
    return net(x)[0, :, dh:, dw:].argmax(axis=0).asnumpy()


def pad_predict_no_pad(net, image, devices):
    x = normalize_image(as_rgb_image(image)).expand_dims(0)
    return net(x)[0].argmax(axis=0).asnumpy()


def pad_predict_scores(net, image, devices):
    x = normalize_image(as_rgb_image(image)).expand_dims(0)
    h, w = x.shape[2:]
    x = nd.pad(x, mode='constant',
               pad_width=(0, 0, 0, 0, 0, -h % 32, 0, -w % 32))
    return net(x)[0, :, :h, :w].asnumpy()


def tile_predict_vote(scores_fn, image, tile, overlap):
    h, w = image.shape[:2]
    out = np.zeros((h, w), np.int64)
    for top in _starts(h, tile, overlap):
        for left in _starts(w, tile, overlap):
            s = scores_fn(image[top:top + tile, left:left + tile])
            out[top:top + tile, left:left + tile] = s.argmax(axis=0)
    return out


def tile_predict_no_last_tile(scores_fn, image, tile, overlap):
    h, w = image.shape[:2]
    total = None
    for top in range(0, max(h - tile, 0) + 1, tile - overlap):
        for left in range(0, max(w - tile, 0) + 1, tile - overlap):
            s = scores_fn(image[top:top + tile, left:left + tile])
            if total is None:
                total = np.zeros((s.shape[0], h, w))
            total[:, top:top + tile, left:left + tile] += s
    return total.argmax(axis=0)


def tile_predict_whole(scores_fn, image, tile, overlap):
    return scores_fn(image).argmax(axis=0)


def _stitch_with(shift, place):
    """A shift-and-stitch built from a way to shift the image and a way to
    place each shift's output: the wrong answers below differ in one."""
    def stitch(coarse_fn, image, f):
        out = np.zeros(image.shape)
        for dy in range(f):
            for dx in range(f):
                place(out, coarse_fn(shift(image, dy, dx)), dy, dx, f)
        return out
    return stitch


def _up_left(image, dy, dx):
    h, w = image.shape
    shifted = np.zeros_like(image)
    shifted[:h - dy, :w - dx] = image[dy:, dx:]
    return shifted


def _down_right(image, dy, dx):
    h, w = image.shape
    shifted = np.zeros_like(image)
    shifted[dy:, dx:] = image[:h - dy, :w - dx]
    return shifted


def _interlace(out, coarse, dy, dx, f):
    out[dy::f, dx::f] = coarse


def _interlace_swapped(out, coarse, dy, dx, f):
    out[dx::f, dy::f] = coarse


def _side_by_side(out, coarse, dy, dx, f):
    h, w = coarse.shape
    out[dy * h:(dy + 1) * h, dx * w:(dx + 1) * w] = coarse


stitch_down_right = _stitch_with(_down_right, _interlace)
stitch_rolled = _stitch_with(
    lambda image, dy, dx: np.roll(image, (-dy, -dx), (0, 1)), _interlace)
stitch_swapped = _stitch_with(_up_left, _interlace_swapped)
stitch_tiled = _stitch_with(_up_left, _side_by_side)


def stitch_unshifted(coarse_fn, image, f):
    return np.kron(coarse_fn(image), np.ones((f, f)))


CHECKERS = {
    'check_pad_predict': (
        pad_predict, [pad_predict_no_crop, pad_predict_black,
                      pad_predict_top_left, pad_predict_no_pad,
                      pad_predict_scores]),
    'check_tile_predict': (
        tile_predict, [tile_predict_vote, tile_predict_no_last_tile,
                       tile_predict_whole]),
    'check_shift_and_stitch': (
        shift_and_stitch, [stitch_down_right, stitch_rolled, stitch_swapped,
                           stitch_tiled, stitch_unshifted]),
}


@pytest.mark.parametrize('checker, wrong, phrases', [
    ('check_pad_predict', pad_predict_black, ['black', 'mean colour']),
    ('check_pad_predict', pad_predict_top_left, ['top and left']),
    ('check_pad_predict', pad_predict_no_pad, ['multiples of 32']),
    ('check_pad_predict', pad_predict_scores, ['not the scores']),
    ('check_tile_predict', tile_predict_vote, ['overwrite']),
    ('check_tile_predict', tile_predict_no_last_tile, ['end at the border']),
    ('check_tile_predict', tile_predict_whole, ['(the tile)']),
    ('check_shift_and_stitch', stitch_down_right, ['shift it up and left']),
    ('check_shift_and_stitch', stitch_rolled, ['wraps around']),
    ('check_shift_and_stitch', stitch_swapped, ['shifts are swapped']),
    ('check_shift_and_stitch', stitch_tiled, ['interlace them']),
    ('check_shift_and_stitch', stitch_unshifted, ['values differ'])],
    ids=lambda x: getattr(x, '__name__', None))
def test_typical_mistakes_get_their_diagnosis(checker, wrong, phrases):
    text = repr(getattr(d2lfcn, checker)(wrong))
    for phrase in phrases:
        assert phrase in text, text


def test_stitching_a_stride_2_net_equals_its_dilated_version():
    """Filter rarefaction: conv, 2x2 max pooling (stride 2), conv, stitched
    from the four shifts, is the same net with stride-1 pooling and the
    second convolution dilated by 2, away from the borders."""
    rng = np.random.default_rng(0)
    k1, k2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    conv = d2lfcn.exercises.ch06._conv_same
    pool = d2lfcn.exercises.ch06._pool
    image = rng.normal(size=(16, 20))

    def coarse(x):
        return conv(pool(conv(x, k1), 2, np.max), k2)
    h = conv(image, k1)
    padded = np.pad(h, ((0, 1), (0, 1)))
    pooled = np.max([padded[a:a + 16, b:b + 20] for a in (0, 1)
                     for b in (0, 1)], axis=0)
    p2 = np.pad(pooled, 2)
    dilated = sum(k2[a, b] * p2[2 * a:2 * a + 16, 2 * b:2 * b + 20]
                  for a in range(3) for b in range(3))
    stitched = shift_and_stitch(coarse, image, 2)
    inner = (slice(4, -4), slice(4, -4))
    assert np.allclose(stitched[inner], dilated[inner])
    assert not np.allclose(stitched, dilated)   # the borders see other zeros


def test_the_toy_network_is_a_stride_32_network():
    """The checker's toy scores every 32x32 block as one: its class map is
    constant on each block, so a right answer has to keep the blocks where
    an FCN has them."""
    toy = d2lfcn.exercises.ch06._Stride32Toy()
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 96))
    pred = toy.scores(x)[0].argmax(axis=0)
    blocks = pred.reshape(2, 32, 3, 32)
    assert (blocks == blocks[:, :1, :, :1]).all()
    with pytest.raises(ValueError, match='multiples of 32'):
        toy.scores(np.zeros((1, 3, 33, 64)))
