"""The chapter-3 checkers accept the reference solution, reject typical
mistakes with a helpful message, and report stubs as not solved yet."""
import numpy as np
import pytest

import d2lfcn
from d2lfcn.exercises.ch03 import (check_crop_coverage,
                              check_median_frequency_weights)


# ---- reference solutions (what the teacher edition holds) ----------------

def weights_ok(labels, num_classes=21):
    pixels, image_pixels = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        valid = label[label != 255]
        counts = np.bincount(valid, minlength=num_classes)
        pixels += counts
        image_pixels += (counts > 0) * valid.size
    present = pixels > 0
    freq = pixels[present] / image_pixels[present]
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq) / freq
    return weights


def coverage_ok(height, width, crop_height, crop_width):
    def along(n, crop):
        i = np.arange(n)
        first, last = np.maximum(0, i - crop + 1), np.minimum(i, n - crop)
        return (last - first + 1) / (n - crop + 1)
    return np.outer(along(height, crop_height), along(width, crop_width))


# ---- typical wrong answers ------------------------------------------------

def weights_over_all_images(labels, num_classes=21):
    flat = np.concatenate([label.ravel() for label in labels])
    counts = np.bincount(flat[flat != 255], minlength=num_classes)
    present = counts > 0
    freq = counts[present] / counts.sum()
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq) / freq
    return weights


def weights_ignore_in_totals(labels, num_classes=21):
    pixels, image_pixels = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        counts = np.bincount(label[label != 255], minlength=num_classes)
        pixels += counts
        image_pixels += (counts > 0) * label.size
    present = pixels > 0
    freq = pixels[present] / image_pixels[present]
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq) / freq
    return weights


def class_frequencies(labels, num_classes):
    """freq(c), 0 for a class that never occurs (right, as in weights_ok)."""
    pixels, image_pixels = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        valid = label[label != 255]
        counts = np.bincount(valid, minlength=num_classes)
        pixels += counts
        image_pixels += (counts > 0) * valid.size
    return np.divide(pixels, image_pixels, out=np.zeros(num_classes),
                     where=pixels > 0)


def weights_absent_divided(labels, num_classes=21):
    freq = class_frequencies(labels, num_classes)
    with np.errstate(divide='ignore'):
        return np.median(freq[freq > 0]) / freq


def weights_median_with_absent(labels, num_classes=21):
    freq = class_frequencies(labels, num_classes)
    present = freq > 0
    weights = np.zeros(num_classes)
    weights[present] = np.median(freq) / freq[present]
    return weights


def weights_inverse(labels, num_classes=21):
    freq = class_frequencies(labels, num_classes)
    present = freq > 0
    weights = np.zeros(num_classes)
    weights[present] = 1 / freq[present]
    return weights


def weights_upside_down(labels, num_classes=21):
    freq = class_frequencies(labels, num_classes)
    present = freq > 0
    weights = np.zeros(num_classes)
    weights[present] = freq[present] / np.median(freq[present])
    return weights


def coverage_counts(height, width, crop_height, crop_width):
    return coverage_ok(height, width, crop_height, crop_width) * (
        (height - crop_height + 1) * (width - crop_width + 1))


def coverage_uniform(height, width, crop_height, crop_width):
    return np.full((height, width),
                   crop_height * crop_width / (height * width))


def coverage_off_by_one(height, width, crop_height, crop_width):
    def along(n, crop):
        i = np.arange(n)
        first, last = np.maximum(0, i - crop + 1), np.minimum(i, n - crop - 1)
        with np.errstate(divide='ignore', invalid='ignore'):
            return (last - first + 1) / (n - crop)
    return np.outer(along(height, crop_height), along(width, crop_width))


def coverage_swapped(height, width, crop_height, crop_width):
    return coverage_ok(height, width, crop_height, crop_width).T


def stub(*args):
    """The student edition's stub."""
    raise NotImplementedError


def test_public_names():
    assert d2lfcn.check_median_frequency_weights is \
        check_median_frequency_weights
    assert d2lfcn.check_crop_coverage is check_crop_coverage


@pytest.mark.parametrize('checker, solution', [
    (check_median_frequency_weights, weights_ok),
    (check_crop_coverage, coverage_ok)])
def test_accepts_reference(checker, solution):
    report = checker(solution)
    assert report.passed, report
    assert 'solved, every case is right' in repr(report)


@pytest.mark.parametrize('wrong, message', [
    (weights_over_all_images, 'not over every'),
    (weights_ignore_in_totals, 'leave them out of the totals too'),
    (weights_absent_divided, 'not finite'),
    (weights_median_with_absent, 'absent classes would drag it down'),
    (weights_inverse, 'right up to a factor'),
    (weights_upside_down, 'Rare classes must get the large weights'),
    (lambda labels, num_classes=21: np.ones(3), 'expected shape'),
])
def test_median_frequency_weights_rejects(wrong, message):
    report = check_median_frequency_weights(wrong)
    assert report.status == 'wrong'
    assert message in repr(report), repr(report)


@pytest.mark.parametrize('wrong, message', [
    (coverage_counts, 'numbers of windows'),
    (coverage_uniform, 'fewer windows than one in the middle'),
    (coverage_off_by_one, 'how many different tops'),
    (coverage_swapped, 'height and width are swapped'),
    (lambda h, w, ch, cw: 0.5, 'expected shape'),
])
def test_crop_coverage_rejects(wrong, message):
    report = check_crop_coverage(wrong)
    assert report.status == 'wrong'
    assert message in repr(report), repr(report)


def test_the_checker_agrees_with_voc_rand_crop():
    """The probabilities the checker expects are those of the crops that
    voc_rand_crop draws (a 6x7 image, 3x4 crops, many draws)."""
    from d2lfcn.exercises.ch03 import _crop_counts
    counts, windows = _crop_counts(6, 7, 3, 4)
    np.random.seed(0)
    index = np.arange(42).reshape(6, 7)
    seen = np.zeros((6, 7))
    for _ in range(4000):
        _, crop = d2lfcn.voc_rand_crop(np.zeros((6, 7, 3)), index, 3, 4)
        seen.flat[crop.ravel()] += 1
    assert np.abs(seen / 4000 - counts / windows).max() < 0.03
    assert np.allclose(coverage_ok(6, 7, 3, 4), counts / windows)


@pytest.mark.parametrize('checker', [check_median_frequency_weights,
                                     check_crop_coverage])
def test_not_solved_yet(checker):
    report = checker(stub)
    assert report.status == 'not solved yet'
    assert 'NotImplementedError' in repr(report)
    assert not report.passed
