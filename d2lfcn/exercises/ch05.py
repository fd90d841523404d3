"""Checkers of chapter 5: the loss and the metrics."""
import numpy as np
from mxnet import nd

from d2lfcn.exercises.common import _check, _compare, _compare_number
from d2lfcn.validate import as_numpy


def _iou_parts(n):
    n = np.asarray(n, dtype=np.float64)
    hits, truth, guess = np.diag(n), n.sum(axis=1), n.sum(axis=0)
    return hits, truth, guess, truth + guess - hits


def check_mean_iou(fn):
    """Exercise 5.1: fn(confusion) returns the mean IoU of a confusion
    matrix n[true, predicted], leaving out classes that occur neither in
    the labels nor in the predictions (as metrics_from_confusion does)."""
    from d2lfcn.metrics import metrics_from_confusion
    rng = np.random.default_rng(51)
    every = rng.integers(1, 20, size=(3, 3))
    absent = rng.integers(1, 20, size=(4, 4))
    absent[2, :] = absent[:, 2] = 0
    predicted_only = rng.integers(1, 20, size=(4, 4))
    predicted_only[3, :] = 0
    never_found = rng.integers(1, 20, size=(3, 3))
    never_found[:, 1] = 0
    voc = np.zeros((21, 21), np.int64)
    for c in (0, 0, 0, 3, 8, 15, 15):
        voc[c] += rng.multinomial(rng.integers(50, 500),
                                  np.full(21, 1 / 21) * 0.3
                                  + 0.7 * np.eye(21)[c])
    voc[:, [5, 9, 11]] = 0          # some classes are never predicted ...
    voc[[5, 9, 11], :] = 0          # ... nor in the labels
    cases = []
    for description, n in [
            ('3 classes, all present', every),
            ('4 classes, class 2 absent from labels and predictions', absent),
            ('4 classes, class 3 only predicted, never in the labels',
             predicted_only),
            ('3 classes, class 1 in the labels but never predicted',
             never_found),
            ('21 classes, several absent (like one VOC batch)', voc)]:

        def case(fn, n=n):
            expected = np.float64(metrics_from_confusion(n)['mean_iou'])
            hits, truth, guess, union = _iou_parts(n)
            with np.errstate(divide='ignore', invalid='ignore'):
                iou = np.where(union > 0, hits / union, 0.0)
                acc = np.where(truth > 0, hits / truth, np.nan)
            hints = [
                (np.float64(iou.mean()),
                 'Your mean counts the classes that occur nowhere as IoU 0 '
                 '(as GluonCV does); leave them out of the mean'),
                (np.float64(iou[truth > 0].mean()),
                 'You left out a class that is predicted but not in the '
                 'labels: its IoU is 0 (its union is not empty) and it '
                 'counts'),
                (np.float64(np.nanmean(acc)),
                 'This is the mean class accuracy n_ii / t_i; the union also '
                 'holds the pixels wrongly predicted as class i')]
            got = fn(np.array(n, copy=True))
            if np.size(got) != 1:
                return (f'expected one number, got an array of shape '
                        f'{np.shape(got)}')
            if np.isnan(float(as_numpy(got, np.float64).reshape(()))):
                return (f'expected {expected:.4f}, got nan: a class that '
                        f'occurs neither in the labels nor in the '
                        f'predictions has IoU 0/0 = nan, and one nan makes '
                        f'the mean nan. Leave those classes out of the mean '
                        f'(np.nanmean, or a mask of union > 0)')
            return _compare_number(got, expected, hints)
        cases.append((description, case))
    return _check('Exercise 5.1 (mean IoU from a confusion matrix)', fn,
                  cases)


def _masked_loss_reference(scores, labels):
    from d2lfcn.training import SegmentationLoss
    return SegmentationLoss()(nd.array(scores, dtype='float64'),
                              nd.array(labels, dtype='float64')).asnumpy()


def check_masked_pixel_loss(fn):
    """Exercise 5.2: fn(scores, labels) with numpy scores (N, C, H, W) and
    labels (N, H, W) (class indices as floats, 255 = ignore) returns the
    (N,) softmax cross-entropy of each image, averaged over its pixels that
    are not ignored (0 if all are), like d2lfcn.SegmentationLoss."""
    rng = np.random.default_rng(52)
    cases = []
    for description, (n, c, h, w), share, scale in [
            ('2 images, 3 classes, no ignored pixels', (2, 3, 4, 5), 0.0, 1),
            ('3 images, 4 classes, a third of the pixels ignored',
             (3, 4, 3, 6), 0.33, 2),
            ('2 images, 21 classes, the second all ignored', (2, 21, 5, 4),
             'second', 1),
            ('large scores (up to about 1000)', (2, 5, 4, 4), 0.2, 300)]:
        scores = (rng.normal(size=(n, c, h, w)) * scale).astype(np.float32)
        labels = rng.integers(0, c, size=(n, h, w)).astype(np.float32)
        if share == 'second':
            labels[1] = 255
            labels[0, 0, :2] = 255
        elif share:
            labels[rng.random((n, h, w)) < share] = 255

        def case(fn, scores=scores, labels=labels):
            expected = _masked_loss_reference(scores, labels)
            valid = labels != 255
            safe = np.where(valid, labels, 0).astype(int)
            logp = scores.astype(np.float64)
            logp = logp - logp.max(axis=1, keepdims=True)
            logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
            nll = -np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
            all_pixels = (nll * valid).sum(axis=(1, 2)) / valid[0].size
            as_background = nll.mean(axis=(1, 2))
            got = fn(scores.copy(), labels.copy())
            got = as_numpy(got, np.float64)
            if got.shape == () and expected.shape != ():
                return (f'expected one loss per image, shape '
                        f'{expected.shape}, got a single number: do not '
                        f'average over the batch')
            if got.shape == expected.shape and not np.isfinite(got).all():
                return ('expected finite losses, got nan or inf: subtract '
                        'the largest score of each pixel before exp (the '
                        'log-sum-exp trick), or an image without valid '
                        'pixels was divided by 0')
            return _compare(got, expected, [
                (all_pixels, 'You divided by all pixels of the image; '
                             'divide by the pixels that are not ignored'),
                (as_background, 'The ignored pixels (255) were scored as '
                                'background (class 0); leave them out')])
        cases.append((description, case))
    return _check('Exercise 5.2 (softmax cross-entropy that skips 255)', fn,
                  cases)
