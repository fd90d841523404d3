"""The chapter 5 checkers accept right answers, reject typical wrong ones
with a message that says what is wrong, and treat the student stub as
'not solved yet'."""
import numpy as np
import pytest

import d2lfcn

from helpers import solution


def stub(*args):
    raise NotImplementedError


# ---- reference solutions: the notebooks' solution cells ------------------

uniform_loss = solution('05', 'uniform_loss')


border_as_background = solution('05', 'border_as_background')


# ---- typical wrong answers ------------------------------------------------

def probability_of_right_class(num_classes):
    return 1 / num_classes


def log10_loss(num_classes):
    return np.log10(num_classes)


def background_left_out(num_classes):
    return np.log(num_classes - 1)


def border_in_place(label):
    label[label == 255] = 0
    return label


def border_as_gluoncv_ignore(label):
    return np.where(label == 255, -1, label).astype(np.float64)


def border_dtype_changed(label):
    return np.where(label == 255, 0, label).astype(np.int64)


def border_everything_zero(label):
    return np.zeros_like(label)


CHECKERS = {
    'check_uniform_loss': (
        uniform_loss, [probability_of_right_class, log10_loss,
                       background_left_out]),
    'check_border_as_background': (
        border_as_background, [border_in_place, border_dtype_changed,
                               border_everything_zero]),
}


@pytest.mark.parametrize('checker, wrong, phrase', [
    ('check_uniform_loss', probability_of_right_class, 'minus its logarithm'),
    ('check_uniform_loss', log10_loss, 'not log10'),
    ('check_uniform_loss', background_left_out, 'Background is a class'),
    ('check_border_as_background', border_in_place, 'work on a copy'),
    ('check_border_as_background', border_dtype_changed, "keep the label's"),
    ('check_border_as_background', border_everything_zero,
     'the classes stay')],
    ids=lambda x: getattr(x, '__name__', None))
def test_typical_mistakes_get_their_diagnosis(checker, wrong, phrase):
    text = repr(getattr(d2lfcn, checker)(wrong))
    assert phrase in text, text


def test_a_fresh_fcn_starts_above_the_uniform_loss():
    """The measurement exercise 5.1 asks for: Xavier-initialised scores
    spread out, so the first loss is above log(C); zero scores give it."""
    import mxnet as mx
    from mxnet import autograd, nd
    mx.random.seed(0)
    net = d2lfcn.fcn_resnet18(21, pretrained=False)
    X = nd.random.normal(shape=(2, 3, 64, 64))
    y = nd.array(np.random.default_rng(0).integers(0, 21, (2, 64, 64)))
    with autograd.train_mode():
        first = d2lfcn.SegmentationLoss()(net(X), y).mean().asscalar()
    assert first > uniform_loss(21)
    zeros = nd.zeros((2, 21, 64, 64))
    at_zero = d2lfcn.SegmentationLoss()(zeros, y).mean().asscalar()
    assert abs(at_zero - uniform_loss(21)) < 1e-5
