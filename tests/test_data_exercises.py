"""The chapter-3 checkers accept the reference solution, reject typical
mistakes with a helpful message, and report stubs as not solved yet."""
import numpy as np
import pytest

import d2lfcn
from d2lfcn.exercises import check_class_pixel_counts, check_pad_to_multiple


def counts_ok(labels):
    flat = np.concatenate([label.ravel() for label in labels])
    return np.bincount(flat[flat != 255], minlength=21)


def counts_with_ignore_as_background(labels):
    flat = np.concatenate([label.ravel() for label in labels]).copy()
    flat[flat == 255] = 0
    return np.bincount(flat, minlength=21)


def counts_256(labels):
    flat = np.concatenate([label.ravel() for label in labels])
    return np.bincount(flat, minlength=256)


def counts_fractions(labels):
    counts = counts_ok(labels)
    return counts / counts.sum()


def pad_ok(feature, label, multiple):
    h, w = label.shape
    dh, dw = -h % multiple, -w % multiple
    return (np.pad(feature, ((0, dh), (0, dw), (0, 0))),
            np.pad(label, ((0, dh), (0, dw)), constant_values=255))


def pad_label_zero(feature, label, multiple):
    h, w = label.shape
    dh, dw = -h % multiple, -w % multiple
    return (np.pad(feature, ((0, dh), (0, dw), (0, 0))),
            np.pad(label, ((0, dh), (0, dw))))


def pad_always(feature, label, multiple):
    h, w = label.shape
    dh, dw = multiple - h % multiple, multiple - w % multiple
    return (np.pad(feature, ((0, dh), (0, dw), (0, 0))),
            np.pad(label, ((0, dh), (0, dw)), constant_values=255))


def pad_centred(feature, label, multiple):
    h, w = label.shape
    dh, dw = -h % multiple, -w % multiple
    t, l = dh // 2, dw // 2
    return (np.pad(feature, ((t, dh - t), (l, dw - l), (0, 0))),
            np.pad(label, ((t, dh - t), (l, dw - l)), constant_values=255))


def stub(*args):
    """The student edition's stub."""
    raise NotImplementedError


def test_public_names():
    assert d2lfcn.check_class_pixel_counts is check_class_pixel_counts
    assert d2lfcn.check_pad_to_multiple is check_pad_to_multiple


def test_class_pixel_counts_accepts_reference():
    report = check_class_pixel_counts(counts_ok)
    assert report.passed, report
    assert 'solved' in repr(report)


@pytest.mark.parametrize('wrong, message', [
    (counts_with_ignore_as_background, 'counted as background'),
    (counts_256, 'leave out the ignore value 255'),
    (counts_fractions, 'fractions'),
    (lambda labels: 3, 'expected shape'),
])
def test_class_pixel_counts_rejects(wrong, message):
    report = check_class_pixel_counts(wrong)
    assert report.status == 'wrong'
    assert message in repr(report)


def test_pad_to_multiple_accepts_reference():
    report = check_pad_to_multiple(pad_ok)
    assert report.passed, report


@pytest.mark.parametrize('wrong, message', [
    (pad_label_zero, 'Pad labels with 255'),
    (pad_always, 'pad by (-h) % m'),
    (pad_centred, 'top left'),
    (lambda f, l, m: l, 'expected a pair'),
])
def test_pad_to_multiple_rejects(wrong, message):
    report = check_pad_to_multiple(wrong)
    assert report.status == 'wrong'
    assert message in repr(report)


@pytest.mark.parametrize('checker', [check_class_pixel_counts,
                                     check_pad_to_multiple])
def test_not_solved_yet(checker):
    report = checker(stub)
    assert report.status == 'not solved yet'
    assert 'NotImplementedError' in repr(report)
    assert not report.passed
