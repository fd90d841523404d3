"""Checkers of chapter 3: semantic segmentation data."""
import numpy as np

from d2lfcn.exercises.common import _check, _compare
from d2lfcn.validate import as_numpy


def _labels_case(rng, shapes, with_ignore=True, classes=21):
    labels = []
    for h, w in shapes:
        label = rng.integers(0, classes, size=(h, w)).astype(np.uint8)
        if with_ignore:
            label[rng.random((h, w)) < 0.2] = 255
        labels.append(label)
    return labels


def _median_frequency(labels, num_classes, mistake=None):
    """Median-frequency class weights, or one of their typical mistakes:
    'all images' (freq over every image's pixels), 'ignore counted' (255 in
    the totals), 'median over all' (absent classes in the median), 'mean',
    'inverse' (1 / freq), 'upside down' (freq / median)."""
    pixels, seen_in = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        label = np.asarray(label)
        valid = label[label != 255].astype(np.int64)
        counts = np.bincount(valid, minlength=num_classes)[:num_classes]
        pixels += counts
        total = label.size if mistake == 'ignore counted' else valid.size
        seen_in += total if mistake == 'all images' else (counts > 0) * total
    present = pixels > 0
    freq = np.zeros(num_classes)
    freq[present] = pixels[present] / seen_in[present]
    middle = {'mean': np.mean(freq[present]),
              'median over all': np.median(freq)}.get(
                  mistake, np.median(freq[present]))
    weights = np.zeros(num_classes)
    if mistake == 'inverse':
        weights[present] = 1 / freq[present]
    elif mistake == 'upside down':
        weights[present] = freq[present] / middle
    else:
        weights[present] = middle / freq[present]
    return weights


def check_median_frequency_weights(fn):
    """Exercise 3.1: fn(labels, num_classes) returns the median-frequency
    weight of every class (Eigen & Fergus): median(freq) / freq(c), where
    freq(c) is the number of pixels of class c divided by the number of
    (not ignored) pixels of the images in which c occurs, the median is
    taken over the classes that occur, a class that never occurs gets 0,
    and pixels labelled 255 count nowhere."""
    rng = np.random.default_rng(31)
    one_class_rare = [np.zeros((4, 6), np.uint8), np.ones((5, 5), np.uint8),
                      np.array([[2, 2, 0], [0, 0, 0]], np.uint8)]
    absent = _labels_case(rng, [(6, 5), (3, 8)], False, classes=3)
    with_ignore = [label.copy() for label in one_class_rare]
    with_ignore[0][:2] = 255
    with_ignore[2][1, 2] = 255
    cases = []
    for description, labels, num_classes in [
            ('three labels, 3 classes, no ignore pixels', one_class_rare, 3),
            ('the same with ignore pixels (255)', with_ignore, 3),
            ('classes 3 and 4 never occur', absent, 5),
            ('five labels with ignore pixels, 6 of 21 classes occur',
             _labels_case(rng, [(7, 9), (5, 5), (8, 3), (6, 6), (4, 10)],
                          True, classes=6), 21)]:

        def case(fn, labels=labels, num_classes=num_classes):
            expected = _median_frequency(labels, num_classes)
            got = fn([label.copy() for label in labels], num_classes)
            got = as_numpy(got, np.float64)
            if got.shape != expected.shape:
                return f'expected shape {expected.shape}, got {got.shape}'
            if not np.isfinite(got).all():
                return ('some weights are not finite (inf or nan): a class '
                        'that never occurs gets weight 0, and it is left '
                        'out of the median')
            messages = {
                'all images': 'The frequency of class c is measured over '
                              'the images in which c occurs, not over every '
                              'image',
                'ignore counted': 'Pixels labelled 255 belong to no class: '
                                  'leave them out of the totals too',
                'median over all': 'The median is taken over the classes '
                                   'that occur; absent classes would drag '
                                   'it down',
                'mean': 'This is the mean of the frequencies, not their '
                        'median',
                'inverse': 'weights of 1 / freq(c) are right up to a '
                           'factor: divide the median frequency by freq(c), '
                           'so that a class of median frequency gets 1',
                'upside down': 'Rare classes must get the large weights'}
            return _compare(got, expected, [
                (_median_frequency(labels, num_classes, m), text)
                for m, text in messages.items()])
        cases.append((description, case))
    return _check('Exercise 3.1 (median-frequency class weights)', fn, cases)


def _crop_counts(height, width, crop_height, crop_width):
    """How many of the windows voc_rand_crop can pick contain each pixel,
    and how many windows there are: every window placed once."""
    counts = np.zeros((height, width))
    tops, lefts = height - crop_height + 1, width - crop_width + 1
    for top in range(tops):
        for left in range(lefts):
            counts[top:top + crop_height, left:left + crop_width] += 1
    return counts, tops * lefts


def _crop_coverage_off_by_one(height, width, crop_height, crop_width):
    """The coverage computed with h - height window tops instead of
    h - height + 1 (when there are at least two)."""
    def along(n, c):
        if n == c:
            return np.ones(n)
        i = np.arange(n)
        return (np.minimum(i, n - c - 1) - np.maximum(0, i - c + 1) + 1) \
            .clip(0) / (n - c)
    return np.outer(along(height, crop_height), along(width, crop_width))


def check_crop_coverage(fn):
    """Exercise 3.2: fn(height, width, crop_height, crop_width) returns the
    (height, width) array of the probabilities that a random window of
    voc_rand_crop contains each pixel, checked against all the windows."""
    cases = []
    for h, w, ch, cw in ((5, 7, 3, 4), (6, 6, 6, 6), (4, 9, 1, 1),
                         (8, 5, 2, 5), (165, 250, 128, 160)):

        def case(fn, h=h, w=w, ch=ch, cw=cw):
            counts, windows = _crop_counts(h, w, ch, cw)
            expected = counts / windows
            got = fn(h, w, ch, cw)
            got = as_numpy(got, np.float64)
            if got.shape == (w, h) and h != w:
                return (f'expected shape {(h, w)} (height, width), got '
                        f'{got.shape}: height and width are swapped')
            return _compare(got, expected, [
                (counts, 'These are numbers of windows; a probability '
                         'divides them by the number of windows'),
                (np.full((h, w), ch * cw / (h * w)),
                 'Every pixel got the same probability, the crop\'s share '
                 'of the image; but a pixel near the border is in fewer '
                 'windows than one in the middle'),
                (_crop_coverage_off_by_one(h, w, ch, cw),
                 'Count the window positions again: how many different '
                 'tops can voc_rand_crop draw? (np.random.randint leaves '
                 'out its upper bound)')])
        cases.append((f'{h}x{w} image, {ch}x{cw} crop', case))
    return _check('Exercise 3.2 (how often a random crop sees a pixel)', fn,
                  cases)
