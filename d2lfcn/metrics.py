"""Segmentation metrics from a confusion matrix (Long et al., CVPR 2015, sec. 5).

n[i, j] counts the pixels of true class i predicted as class j; t_i = sum_j
n[i, j] is the number of pixels of class i. Pixels labelled `ignore_index`
(255 in Pascal VOC: object borders and "difficult" regions) are not counted.

- pixel accuracy        sum_i n_ii / sum_i t_i
- mean class accuracy   mean_i n_ii / t_i
- IoU of class i        n_ii / (t_i + sum_j n_ji - n_ii)
- mean IoU              mean_i IoU_i
- frequency-weighted IoU  sum_i t_i IoU_i / sum_i t_i

A class that appears neither in the labels nor in the predictions has no IoU
(0 / 0): it is left out of the means, as in the FCN paper's evaluation code.
GluonCV's SegmentationMetric instead averages over all classes, counting an
absent class as IoU 0, and so reports a lower mean IoU on any data set where
some class never occurs; the two agree when every class occurs.
"""
# Taught in notebooks/05_training.ipynb (metrics_from_confusion, _nanmean):
# edit there, then run python tools/sync_code.py. Not written out in a
# notebook: SegMetric.
import numpy as np
from mxnet import nd

from d2lfcn import validate


class SegMetric:
    """Accumulates a confusion matrix over batches, on the arrays' device.

    update() adds a batch without copying it to the host, so a training loop
    can call it every batch without waiting for the GPU; get() copies the
    (num_classes x num_classes) counts once and computes the metrics.
    """

    MAX_QUEUED = 8
    """update() waits for the counts of a device after this many updates
    there, so that a loop of updates cannot queue work (and memory) without
    bound; a training loop, which waits every batch anyway, never notices."""

    def __init__(self, num_classes, ignore_index=255):
        num_classes = validate.num_classes(num_classes)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reset()

    def reset(self):
        """Forget every batch seen so far."""
        self._counts = {}  # device -> float64 NDArray (C, C) on that device
        self._queued = {}  # device -> updates since the last wait there
        # device -> (6,) NDArray: smallest and largest scored label, number
        # of fractional labels, and the same three for the predictions
        self._ranges = {}

    def update(self, pred, label):
        """Add a batch.

        pred: (N, C, H, W) class scores or (N, H, W) class indices;
        label: (N, H, W) class indices, `ignore_index` where not scored.
        Both NDArrays on the same device (or numpy arrays, used on the CPU).
        Labels and predicted indices must be whole numbers in 0..C-1 (labels
        may also be `ignore_index`): numpy input is checked here, NDArrays
        on their device, and get() raises ValueError if any was not.
        """
        eager = not isinstance(label, nd.NDArray)
        pred, label = _as_nd(pred, 'pred'), _as_nd(label, 'label')
        if pred.ndim == 4:
            if pred.shape[1] != self.num_classes:
                raise ValueError(
                    f'pred has {pred.shape[1]} class scores per pixel, the '
                    f'metric was made for num_classes={self.num_classes}')
            pred = pred.argmax(axis=1)
        if pred.shape != label.shape or label.ndim != 3:
            raise ValueError(f'pred (as class indices) and label must both be '
                             f'(N, H, W); got {pred.shape} and {label.shape}')
        pred = pred.as_in_context(label.context).astype('float32')
        label = label.astype('float32')
        ctx = label.context
        valid = label != self.ignore_index
        ranges = nd.concat(*_range_and_fractions(label, valid),
                           *_range_and_fractions(pred, nd.ones_like(pred)), dim=0)
        if eager:
            self._check_ranges(ranges)      # before this batch is counted
        if ctx in self._ranges:
            self._ranges[ctx] = _merge_ranges(self._ranges[ctx], ranges)
        else:
            self._ranges[ctx] = ranges
        c = self.num_classes
        # pixel (true i, predicted j) counts in bin i * C + j; ignored
        # labels are moved far below 0, outside [0, C * C), and not counted
        label = nd.where(valid, label, nd.full(label.shape, -1e6, ctx=ctx))
        bins, _ = nd.histogram((label * c + pred).reshape(-1), bins=c * c,
                               range=(0, c * c))
        batch = bins.reshape((c, c)).astype('float64')
        if ctx in self._counts:
            self._counts[ctx] += batch
        else:
            self._counts[ctx] = batch
        self._queued[ctx] = self._queued.get(ctx, 0) + 1
        if self._queued[ctx] >= self.MAX_QUEUED:
            self.wait()

    def wait(self):
        """Block until every update so far has been counted."""
        for counts in self._counts.values():
            counts.wait_to_read()
        self._queued = {}

    def raise_if_invalid(self):
        """ValueError if a label or a predicted index seen so far was not a
        whole number in 0..C-1 (or ignore_index, for labels)."""
        for ranges in self._ranges.values():
            self._check_ranges(ranges)

    def _check_ranges(self, ranges):
        c = self.num_classes
        low, high, fractional, p_low, p_high, p_fractional = \
            ranges.asnumpy().tolist()
        if fractional:
            raise ValueError(
                f'{int(fractional)} labelled pixels hold fractional values: '
                f'labels must be whole class indices. Resize labels with '
                f'nearest-neighbour interpolation, never bilinear')
        if low < 0 or high >= c:
            bad = int(low) if low < 0 else int(high)
            raise ValueError(
                f'a label holds class {bad}, but the metric counts '
                f'num_classes={c} classes (0..{c - 1}; {self.ignore_index} = '
                f'ignore): build the network and the metric with as many '
                f'classes as the labels have (21 for Pascal VOC)')
        if p_fractional or p_low < 0 or p_high >= c:
            bad = p_low if p_low < 0 else p_high
            what = 'fractional' if p_fractional else f'{bad:g}'
            raise ValueError(
                f'a predicted class index is {what}, not one of 0..{c - 1}: '
                f'pass the scores (N, C, H, W) or their argmax over the '
                f'classes')

    @property
    def confusion(self):
        """The (num_classes, num_classes) int64 matrix n[true, predicted]."""
        self.raise_if_invalid()
        total = np.zeros((self.num_classes,) * 2, dtype=np.int64)
        for counts in self._counts.values():
            total += counts.asnumpy().round().astype(np.int64)
        return total

    def get(self):
        """Return a dict of the metrics (floats in [0, 1], NaN if no pixels).

        Keys: pixel_accuracy, mean_class_accuracy, mean_iou, fw_iou, and
        per_class_iou (a numpy array, NaN for classes that never occur).
        """
        return metrics_from_confusion(self.confusion)


def metrics_from_confusion(n):
    """The metrics of SegMetric.get() for a confusion matrix n[true, pred]."""
    n = np.asarray(n, dtype=np.float64)
    true_per_class = n.sum(axis=1)
    pred_per_class = n.sum(axis=0)
    hits = np.diag(n)
    union = true_per_class + pred_per_class - hits
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, hits / union, np.nan)
        class_acc = np.where(true_per_class > 0, hits / true_per_class, np.nan)
    total = true_per_class.sum()
    present = ~np.isnan(iou)
    return {
        'pixel_accuracy': hits.sum() / total if total else float('nan'),
        'mean_class_accuracy': _nanmean(class_acc),
        'mean_iou': _nanmean(iou),
        'fw_iou': ((true_per_class[present] * iou[present]).sum() / total
                   if total else float('nan')),
        'per_class_iou': iou,
    }


def _nanmean(values):
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


def _range_and_fractions(values, valid):
    """Smallest and largest of values where valid (+inf / -inf if none),
    and how many of them are not whole numbers: three scalar NDArrays."""
    big = nd.full(values.shape, np.inf, ctx=values.context)
    low = nd.min(nd.where(valid, values, big)).reshape(1)
    high = nd.max(nd.where(valid, values, -big)).reshape(1)
    fractional = nd.sum(valid * (values != nd.floor(values))).reshape(1)
    return low, high, fractional


def _merge_ranges(a, b):
    return nd.concat(nd.minimum(a[0:1], b[0:1]), nd.maximum(a[1:2], b[1:2]),
                     a[2:3] + b[2:3], nd.minimum(a[3:4], b[3:4]),
                     nd.maximum(a[4:5], b[4:5]), a[5:6] + b[5:6], dim=0)


def _as_nd(x, name):
    if isinstance(x, nd.NDArray):
        return x
    try:
        return nd.array(np.asarray(x))
    except (TypeError, ValueError):
        raise TypeError(f'{name} must be an NDArray or numpy array, got '
                        f'{type(x).__name__}') from None
