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
import numpy as np
from mxnet import nd


class SegMetric:
    """Accumulates a confusion matrix over batches, on the arrays' device.

    update() adds a batch without copying it to the host, so a training loop
    can call it every batch without waiting for the GPU; get() copies the
    (num_classes x num_classes) counts once and computes the metrics.
    """

    def __init__(self, num_classes, ignore_index=255):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) \
                or num_classes < 2:
            raise ValueError(f'num_classes must be an integer >= 2, got '
                             f'{num_classes!r}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reset()

    def reset(self):
        """Forget every batch seen so far."""
        self._counts = {}  # device -> float64 NDArray (C, C) on that device

    def update(self, pred, label):
        """Add a batch.

        pred: (N, C, H, W) class scores or (N, H, W) class indices;
        label: (N, H, W) class indices, `ignore_index` where not scored.
        Both NDArrays on the same device (or numpy arrays, used on the CPU).
        """
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
        c = self.num_classes
        # pixel (true i, predicted j) counts in bin i * C + j; ignored and
        # out-of-range labels fall outside [0, C * C) and are not counted
        label = nd.where(label == self.ignore_index,
                         nd.full(label.shape, -1e6, ctx=label.context), label)
        bins, _ = nd.histogram((label * c + pred).reshape(-1), bins=c * c,
                               range=(0, c * c))
        batch = bins.reshape((c, c)).astype('float64')
        ctx = label.context
        if ctx in self._counts:
            self._counts[ctx] += batch
        else:
            self._counts[ctx] = batch

    @property
    def confusion(self):
        """The (num_classes, num_classes) int64 matrix n[true, predicted]."""
        total = np.zeros((self.num_classes,) * 2, dtype=np.int64)
        for counts in self._counts.values():
            total += counts.asnumpy().round().astype(np.int64)
        return total

    def check_labels(self, label):
        """Raise if a label holds values other than 0..C-1 and ignore_index."""
        values = np.unique(_as_nd(label, 'label').asnumpy())
        bad = [int(v) for v in values
               if not (0 <= v < self.num_classes or v == self.ignore_index)]
        if bad:
            raise ValueError(f'label holds values {bad[:10]} outside 0..'
                             f'{self.num_classes - 1} and {self.ignore_index}')

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


def _as_nd(x, name):
    if isinstance(x, nd.NDArray):
        return x
    try:
        return nd.array(np.asarray(x))
    except (TypeError, ValueError):
        raise TypeError(f'{name} must be an NDArray or numpy array, got '
                        f'{type(x).__name__}') from None
