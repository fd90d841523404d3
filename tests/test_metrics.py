"""SegMetric against hand-computed cases and GluonCV's metric."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import nd

from d2lfcn.metrics import SegMetric, metrics_from_confusion


def test_hand_computed_case():
    # 2x3 image, classes 0..2; one pixel ignored
    label = np.array([[[0, 0, 1], [1, 2, 255]]])
    pred = np.array([[[0, 1, 1], [1, 2, 0]]])
    m = SegMetric(3)
    m.update(pred, label)
    np.testing.assert_array_equal(m.confusion, [[1, 1, 0], [0, 2, 0],
                                                [0, 0, 1]])
    got = m.get()
    assert got['pixel_accuracy'] == pytest.approx(4 / 5)
    assert got['mean_class_accuracy'] == pytest.approx((1 / 2 + 1 + 1) / 3)
    ious = [1 / 2, 2 / 3, 1]      # class 0: 1 / (2 + 1 - 1), class 1: 2 / 3
    np.testing.assert_allclose(got['per_class_iou'], ious)
    assert got['mean_iou'] == pytest.approx(np.mean(ious))
    assert got['fw_iou'] == pytest.approx((2 * ious[0] + 2 * ious[1]
                                           + 1 * ious[2]) / 5)


def test_absent_classes_are_left_out_of_the_means():
    label = np.array([[[0, 1], [1, 0]]])
    m = SegMetric(21)
    m.update(label.copy(), label)
    got = m.get()
    assert got['mean_iou'] == 1.0 and got['mean_class_accuracy'] == 1.0
    assert np.isnan(got['per_class_iou'][2:]).all()
    # a class only predicted (never in the labels) counts, with IoU 0
    pred = np.array([[[0, 1], [1, 5]]])
    m.reset()
    m.update(pred, label)
    got = m.get()
    assert got['per_class_iou'][5] == 0
    assert got['mean_iou'] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert got['mean_class_accuracy'] == pytest.approx((1 / 2 + 1) / 2)


def test_scores_and_indices_give_the_same_counts():
    rng = np.random.default_rng(0)
    scores = rng.random((2, 4, 5, 6)).astype('float32')
    label = rng.integers(0, 4, (2, 5, 6))
    a, b = SegMetric(4), SegMetric(4)
    a.update(nd.array(scores), nd.array(label))
    b.update(scores.argmax(axis=1), label)
    np.testing.assert_array_equal(a.confusion, b.confusion)
    assert a.confusion.sum() == label.size


def test_agrees_with_gluoncv_when_every_class_occurs():
    from gluoncv.utils.metrics.segmentation import SegmentationMetric
    rng = np.random.default_rng(1)
    ours, theirs = SegMetric(6), SegmentationMetric(6)
    for _ in range(3):
        scores = rng.random((2, 6, 17, 23)).astype('float32')
        label = rng.integers(0, 6, (2, 17, 23))
        label[:, :2] = 255
        ours.update(nd.array(scores), nd.array(label))
        gl = label.astype('float32')
        gl[gl == 255] = -1                   # GluonCV's ignore label
        theirs.update(nd.array(gl), nd.array(scores))
    pix, miou = theirs.get()
    got = ours.get()
    assert got['pixel_accuracy'] == pytest.approx(pix, abs=1e-12)
    assert got['mean_iou'] == pytest.approx(miou, abs=1e-12)


def test_differs_from_gluoncv_where_a_class_is_absent():
    from gluoncv.utils.metrics.segmentation import SegmentationMetric
    label = np.array([[[0, 1], [1, 0]]])
    ours, theirs = SegMetric(3), SegmentationMetric(3)
    ours.update(label, label)
    theirs.update(nd.array(label), nd.one_hot(nd.array(label), 3)
                  .transpose((0, 3, 1, 2)))
    assert ours.get()['mean_iou'] == 1.0
    assert theirs.get()[1] == pytest.approx(2 / 3)   # absent class as 0


def test_counts_stay_per_device_and_add_up():
    rng = np.random.default_rng(2)
    label = rng.integers(0, 3, (4, 8, 8))
    pred = rng.integers(0, 3, (4, 8, 8))
    one, two = SegMetric(3), SegMetric(3)
    one.update(pred, label)
    for ctx, part in ((mx.cpu(0), slice(0, 2)), (mx.cpu(1), slice(2, 4))):
        two.update(nd.array(pred[part], ctx=ctx), nd.array(label[part],
                                                            ctx=ctx))
    np.testing.assert_array_equal(one.confusion, two.confusion)


def test_large_counts_are_exact():
    n = np.diag([3_000_000_000, 7]).astype(np.int64)
    assert metrics_from_confusion(n)['pixel_accuracy'] == 1.0


def test_empty_metric_gives_nan():
    got = SegMetric(3).get()
    assert np.isnan(got['pixel_accuracy']) and np.isnan(got['mean_iou'])


@pytest.mark.parametrize('call,words', [
    (lambda m: m.update(np.zeros((1, 5, 4, 4)), np.zeros((1, 4, 4))),
     'pred has 5 class scores per pixel'),
    (lambda m: m.update(np.zeros((1, 4, 4)), np.zeros((1, 4, 5))),
     'must both be (N, H, W)'),
    (lambda m: m.update(np.zeros((4, 4)), np.zeros((4, 4))),
     'must both be (N, H, W)'),
    (lambda m: m.update(np.zeros((1, 1, 4)), np.array([[[0, 3, 255, 7]]])),
     'a label holds class 7, but the metric counts num_classes=3'),
    (lambda m: m.update(np.zeros((1, 1, 4)), np.array([[[0, -1, 255, 2]]])),
     'a label holds class -1'),
    (lambda m: m.update(np.zeros((1, 1, 3)), np.array([[[0, 1.5, 2]]])),
     '1 labelled pixels hold fractional values'),
    (lambda m: m.update(np.array([[[4, 0]]]), np.array([[[0, 0]]])),
     'a predicted class index is 4, not one of 0..2'),
    (lambda m: m.update(np.array([[[0.5, 0]]]), np.array([[[0, 0]]])),
     'a predicted class index is fractional'),
    (lambda m: m.update('x', np.zeros((1, 4, 4))), 'pred must be'),
])
def test_bad_input(call, words):
    with pytest.raises((ValueError, TypeError)) as info:
        call(SegMetric(3))
    assert words in str(info.value)


def test_a_rejected_numpy_batch_is_not_counted():
    metric = SegMetric(3)
    metric.update(np.array([[[1, 2]]]), np.array([[[1, 2]]]))
    with pytest.raises(ValueError, match='predicted class index is 4'):
        metric.update(np.array([[[4, 0]]]), np.array([[[0, 0]]]))
    assert metric.confusion.sum() == 2 and metric.get()['pixel_accuracy'] == 1


@pytest.mark.parametrize('pred, label, words', [
    ([[[4, 0]]], [[[0, 0]]], 'predicted class index is 4'),
    ([[[0, 0]]], [[[5, 255]]], 'a label holds class 5'),
    ([[[0, 0]]], [[[1.5, 0]]], 'fractional')])
def test_ndarray_batches_are_checked_on_the_device_and_refused_by_get(
        pred, label, words):
    """Index 4 for label 0 with 3 classes would count as a hit (bin 4 is
    (1, 1)); on the device nothing waits for the check, get() refuses."""
    metric = SegMetric(3)
    metric.update(nd.array(pred), nd.array(label))     # no host sync here
    with pytest.raises(ValueError, match=words):
        metric.get()


def test_bad_num_classes():
    with pytest.raises(ValueError, match='num_classes must be an integer'):
        SegMetric(1)
