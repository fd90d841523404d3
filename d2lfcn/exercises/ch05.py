"""Checkers of chapter 5: the loss before the first update, and the ignore
border."""
import numpy as np
from mxnet import nd

from d2lfcn.exercises.common import _check, _compare, _compare_number
from d2lfcn.validate import as_numpy


def _loss_of_equal_scores(num_classes):
    """SegmentationLoss of scores that are equal for every class, on labels
    of every class: the loss of a net that has no preference yet."""
    from d2lfcn.training import SegmentationLoss
    labels = nd.array(np.arange(2 * num_classes).reshape(2, 1, num_classes)
                      % num_classes, dtype='float64')
    scores = nd.zeros((2, num_classes, 1, num_classes), dtype='float64')
    return float(SegmentationLoss()(scores, labels).mean().asscalar())


def check_uniform_loss(fn):
    """Exercise 5.1: fn(num_classes) returns the training loss of a net whose
    scores are equal for every class at every pixel, as SegmentationLoss
    computes it."""
    cases = []
    for c in (2, 5, 21, 1000):

        def case(fn, c=c):
            expected = _loss_of_equal_scores(c)
            got = fn(c)
            if np.size(got) != 1:
                return (f'expected one number, got an array of shape '
                        f'{np.shape(got)}')
            return _compare_number(got, expected, [
                (1 / c, 'That is the probability the net gives the right '
                        'class; the loss is minus its logarithm'),
                (-np.log(c), 'The sign: the loss is minus the log of a '
                             'probability below 1, so it is positive'),
                (np.log10(c), 'The loss uses the natural logarithm, not '
                              'log10'),
                (np.log2(c), 'The loss uses the natural logarithm, not '
                             'log2'),
                (np.log(c - 1) if c > 1 else np.nan,
                 'Background is a class too: count all num_classes')])
        cases.append((f'{c} classes', case))
    return _check('Exercise 5.1 (the loss before the first update)', fn,
                  cases)


def check_border_as_background(fn):
    """Exercise 5.2: fn(label) returns a copy of the (H, W) label (numpy,
    any dtype) in which the ignore value 255 is replaced by 0 (background);
    the other values, the shape and the dtype stay, and the caller's label
    is not changed."""
    rng = np.random.default_rng(52)
    uint8 = np.zeros((6, 7), np.uint8)
    uint8[1:5, 2:6] = 255
    uint8[2:4, 3:5] = 7
    floats = rng.integers(0, 21, size=(5, 9)).astype(np.float32)
    floats[rng.random((5, 9)) < 0.3] = 255
    clean = rng.integers(0, 21, size=(4, 4)).astype(np.float32)
    cases = []
    for description, label in [
            ('an object of class 7 with its 255 border (uint8)', uint8),
            ('labels as the data loaders give them (float32)', floats),
            ('a label without any 255', clean)]:

        def case(fn, label=label):
            original = label.copy()
            expected = np.where(label == 255, 0, label)
            got = fn(label)
            if not np.array_equal(label, original):
                return ("expected the caller's label unchanged, but your "
                        "function changed it: work on a copy (np.where "
                        "returns one, or label.copy())")
            got_array = as_numpy(got)
            if got_array.dtype != label.dtype:
                return (f'expected dtype {label.dtype}, got '
                        f'{got_array.dtype}: keep the label\'s dtype')
            return _compare(got_array.astype(np.float64),
                            expected.astype(np.float64), [
                (np.where(label == 255, -1, label).astype(np.float64),
                 'That is GluonCV\'s ignore value -1; here the border counts '
                 'as background, class 0'),
                (np.zeros(label.shape),
                 'Only the 255s change; the classes stay')])
        cases.append((description, case))
    return _check('Exercise 5.2 (the ignore border scored as background)', fn,
                  cases)
