"""The chapter 5 checkers accept right answers, reject typical wrong ones
with a message that says what is wrong, and treat the student stub as
'not solved yet'."""
import numpy as np
import pytest

import d2lfcn


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (what the teacher edition holds) ----------------

def mean_iou(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(n)
    union = n.sum(axis=0) + n.sum(axis=1) - hits
    present = union > 0
    return float((hits[present] / union[present]).mean())


def masked_pixel_loss(scores, labels):
    valid = labels != 255
    safe = np.where(valid, labels, 0).astype(int)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -np.take_along_axis(log_p, safe[:, None], axis=1)[:, 0]
    return (nll * valid).sum(axis=(1, 2)) / np.maximum(
        valid.sum(axis=(1, 2)), 1)


# ---- typical wrong answers ------------------------------------------------

def mean_iou_absent_as_zero(confusion):      # GluonCV's convention
    n = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(n)
    union = n.sum(axis=0) + n.sum(axis=1) - hits
    return float(np.where(union > 0, hits / np.maximum(union, 1), 0).mean())


def mean_iou_labelled_classes_only(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(n)
    union = n.sum(axis=0) + n.sum(axis=1) - hits
    present = n.sum(axis=1) > 0
    return float((hits[present] / union[present]).mean())


def mean_class_accuracy(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    truth = n.sum(axis=1)
    return float((np.diag(n)[truth > 0] / truth[truth > 0]).mean())


def per_class_iou(confusion):
    n = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(n)
    return hits / np.maximum(n.sum(axis=0) + n.sum(axis=1) - hits, 1)


def mean_iou_with_nan(confusion):           # 0/0 left in the mean
    n = np.asarray(confusion, dtype=float)
    hits = np.diag(n)
    return (hits / (n.sum(0) + n.sum(1) - hits)).mean()


def loss_over_all_pixels(scores, labels):
    valid = labels != 255
    return masked_pixel_loss(scores, labels) * valid.mean(axis=(1, 2))


def loss_ignore_as_background(scores, labels):
    return masked_pixel_loss(scores, np.where(labels == 255, 0, labels))


def loss_batch_mean(scores, labels):
    return float(masked_pixel_loss(scores, labels).mean())


def loss_without_log_sum_exp(scores, labels):
    valid = labels != 255
    safe = np.where(valid, labels, 0).astype(int)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    nll = -np.log(np.take_along_axis(p, safe[:, None], axis=1)[:, 0])
    return (nll * valid).sum(axis=(1, 2)) / np.maximum(
        valid.sum(axis=(1, 2)), 1)


CHECKERS = {
    'check_mean_iou': (
        mean_iou, [mean_iou_absent_as_zero, mean_iou_labelled_classes_only,
                   mean_class_accuracy, per_class_iou, mean_iou_with_nan]),
    'check_masked_pixel_loss': (
        masked_pixel_loss, [loss_over_all_pixels, loss_ignore_as_background,
                            loss_batch_mean, loss_without_log_sum_exp]),
}


@pytest.mark.parametrize('checker, wrong, phrase', [
    ('check_mean_iou', mean_iou_absent_as_zero, 'as GluonCV does'),
    ('check_mean_iou', mean_iou_labelled_classes_only,
     'predicted but not in the labels'),
    ('check_mean_iou', mean_class_accuracy, 'mean class accuracy'),
    ('check_mean_iou', per_class_iou, 'expected one number'),
    ('check_mean_iou', mean_iou_with_nan, 'has IoU 0/0 = nan'),
    ('check_masked_pixel_loss', loss_over_all_pixels, 'divided by all pixels'),
    ('check_masked_pixel_loss', loss_ignore_as_background, 'as background'),
    ('check_masked_pixel_loss', loss_batch_mean, 'one loss per image'),
    ('check_masked_pixel_loss', loss_without_log_sum_exp, 'log-sum-exp')],
    ids=lambda x: getattr(x, '__name__', None))
def test_typical_mistakes_get_their_diagnosis(checker, wrong, phrase):
    with np.errstate(all='ignore'):
        text = repr(getattr(d2lfcn, checker)(wrong))
    assert phrase in text, text


def test_the_loss_reference_is_segmentation_loss():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 4, 3, 5)).astype(np.float32)
    labels = rng.integers(0, 4, (2, 3, 5)).astype(np.float32)
    labels[0, 0] = 255
    from mxnet import nd
    got = d2lfcn.SegmentationLoss()(nd.array(scores), nd.array(labels))
    np.testing.assert_allclose(masked_pixel_loss(scores, labels),
                               got.asnumpy(), rtol=1e-5)
