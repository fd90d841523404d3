"""The chapter-6 checkers accept the reference solutions, reject typical
mistakes with a message that says what is wrong, and report stubs as not
solved yet."""
import numpy as np
import pytest
from mxnet import nd

import d2lfcn
from d2lfcn.data import normalize_image
from d2lfcn.prediction import as_rgb_image


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (what the teacher edition holds) ----------------

def pad_predict(net, image, devices):
    x = normalize_image(as_rgb_image(image)).expand_dims(0)
    h, w = x.shape[2:]
    x = nd.pad(x, mode='constant',
               pad_width=(0, 0, 0, 0, 0, -h % 32, 0, -w % 32))
    scores = net(x.as_in_context(devices[0]))
    return scores[0, :, :h, :w].argmax(axis=0).asnumpy().astype(np.int64)


def _starts(n, tile, overlap):
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile + 1, tile - overlap))
    return starts + [n - tile] if starts[-1] + tile < n else starts


def tile_predict(scores_fn, image, tile, overlap):
    h, w = image.shape[:2]
    total, count = None, np.zeros((h, w))
    for top in _starts(h, tile, overlap):
        for left in _starts(w, tile, overlap):
            s = scores_fn(image[top:top + tile, left:left + tile])
            if total is None:
                total = np.zeros((s.shape[0], h, w))
            total[:, top:top + tile, left:left + tile] += s
            count[top:top + tile, left:left + tile] += 1
    return (total / count).argmax(axis=0)


def per_class_iou(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(n)
    union = n.sum(axis=0) + n.sum(axis=1) - hits
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, hits / union, np.nan)


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


def iou_class_accuracy(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(n.sum(axis=1) > 0, np.diag(n) / n.sum(axis=1), np.nan)


def iou_absent_as_zero(confusion):
    return np.nan_to_num(per_class_iou(confusion))


def iou_mean(confusion):
    return np.nanmean(per_class_iou(confusion))


def iou_no_minus(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    union = n.sum(axis=0) + n.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, np.diag(n) / union, np.nan)


CHECKERS = {
    'check_pad_predict': (
        pad_predict, [pad_predict_no_crop, pad_predict_black,
                      pad_predict_top_left, pad_predict_no_pad,
                      pad_predict_scores]),
    'check_tile_predict': (
        tile_predict, [tile_predict_vote, tile_predict_no_last_tile,
                       tile_predict_whole]),
    'check_per_class_iou': (
        per_class_iou, [iou_class_accuracy, iou_absent_as_zero, iou_mean,
                        iou_no_minus]),
}


def test_typical_mistakes_get_their_diagnosis():
    text = repr(d2lfcn.check_pad_predict(pad_predict_black))
    assert 'black' in text and 'mean colour' in text
    text = repr(d2lfcn.check_pad_predict(pad_predict_top_left))
    assert 'top and left' in text
    text = repr(d2lfcn.check_pad_predict(pad_predict_no_pad))
    assert 'multiples of 32' in text
    text = repr(d2lfcn.check_pad_predict(pad_predict_scores))
    assert 'not the scores' in text
    text = repr(d2lfcn.check_tile_predict(tile_predict_vote))
    assert 'overwrite' in text
    text = repr(d2lfcn.check_tile_predict(tile_predict_no_last_tile))
    assert 'end at the border' in text
    text = repr(d2lfcn.check_tile_predict(tile_predict_whole))
    assert '(the tile)' in text
    text = repr(d2lfcn.check_per_class_iou(iou_class_accuracy))
    assert 'class accuracies' in text
    text = repr(d2lfcn.check_per_class_iou(iou_absent_as_zero))
    assert 'expected NaN' in text


def test_the_toy_network_is_a_stride_32_network():
    """The checker's toy scores every 32x32 block as one: its class map is
    constant on each block, so a right answer has to keep the blocks where
    an FCN has them."""
    toy = d2lfcn.exercises._Stride32Toy()
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 96))
    pred = toy.scores(x)[0].argmax(axis=0)
    blocks = pred.reshape(2, 32, 3, 32)
    assert (blocks == blocks[:, :1, :, :1]).all()
    with pytest.raises(ValueError, match='multiples of 32'):
        toy.scores(np.zeros((1, 3, 33, 64)))
