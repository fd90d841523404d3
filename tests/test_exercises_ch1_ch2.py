"""The chapter 1 and 2 checkers accept right answers, reject typical wrong
ones with a message that says what is wrong, and treat the student stub as
'not solved yet'."""
import numpy as np
import pytest

import d2lfcn

from helpers import solution


def stub(*args):
    raise NotImplementedError


# ---- reference solutions: the notebooks' solution cells ------------------

def _spread(X, stride):
    X = np.asarray(X, dtype=float)
    Z = np.zeros(((X.shape[0] - 1) * stride + 1,
                  (X.shape[1] - 1) * stride + 1))
    Z[::stride, ::stride] = X
    return Z


def _pad_or_crop(Z, K, before, after):
    """Per axis: `before(k)` zeros at the start, `after(k)` at the end; a
    negative number takes that many rows or columns away instead."""
    for axis, k in enumerate(np.shape(K)):
        b, a = before(k), after(k)
        widths = [(0, 0), (0, 0)]
        widths[axis] = (max(b, 0), max(a, 0))
        Z = np.pad(Z, widths)
        Z = Z.take(range(max(-b, 0), Z.shape[axis] - max(-a, 0)), axis=axis)
    return Z


zero_insertion = solution('01', 'trans_conv_by_zero_insertion')


conv_input_grad = solution('01', 'conv_input_grad')


overlap_counts = solution('02', 'overlap_counts')


def overlap_counts_formula(kernel_size, stride, n):
    """The teacher edition's version, without a loop."""
    x = np.arange((n - 1) * stride + kernel_size)
    first = np.maximum(0, -(-(x - kernel_size + 1) // stride))
    last = np.minimum(n - 1, x // stride)
    return last - first + 1


border_fix = solution('02', 'bilinear_upsample_border_fixed')


# ---- typical wrong answers ------------------------------------------------

def zero_insertion_unflipped(X, K, stride, padding, output_padding):
    return zero_insertion(X, np.asarray(K)[::-1, ::-1], stride, padding,
                          output_padding)


def zero_insertion_no_padding_crop(X, K, stride, padding, output_padding):
    return zero_insertion(X, K, stride, 0, output_padding)


def zero_insertion_ignores_output_padding(X, K, stride, padding,
                                          output_padding):
    return zero_insertion(X, K, stride, padding, 0)


def zero_insertion_output_padding_top_left(X, K, stride, padding,
                                           output_padding):
    Z = _pad_or_crop(_spread(X, stride), K,
                     lambda k: k - 1 - padding + output_padding,
                     lambda k: k - 1 - padding)
    return d2lfcn.corr2d(Z, np.asarray(K, dtype=float)[::-1, ::-1])


def zero_insertion_output_padding_both_sides(X, K, stride, padding,
                                             output_padding):
    Z = _pad_or_crop(_spread(X, stride), K,
                     lambda k: k - 1 - padding + output_padding,
                     lambda k: k - 1 - padding + output_padding)
    return d2lfcn.corr2d(Z, np.asarray(K, dtype=float)[::-1, ::-1])


def zero_insertion_pads_only(X, K, stride, padding, output_padding):
    """Section 1.8's recipe as it is, which np.pad refuses when p > k - 1."""
    (k_h, k_w), q = np.shape(K), output_padding
    Z = np.pad(_spread(X, stride), [(k_h - 1 - padding, k_h - 1 - padding + q),
                                    (k_w - 1 - padding, k_w - 1 - padding + q)])
    return d2lfcn.corr2d(Z, np.asarray(K, dtype=float)[::-1, ::-1])


def conv_input_grad_zeros(dY, K, input_shape, stride, padding):
    got = d2lfcn.trans_conv(dY, K, stride, padding)
    return np.pad(got, [(0, n - g) for n, g in zip(input_shape, got.shape)])


def conv_input_grad_plain(dY, K, input_shape, stride, padding):
    return d2lfcn.trans_conv(dY, K, stride, padding)


def overlap_counts_unclipped(kernel_size, stride, n):
    """The interior formula applied at the two ends too."""
    length = (n - 1) * stride + kernel_size
    return np.array([len(range(x % stride, kernel_size, stride))
                     for x in range(length)])


def overlap_counts_phase_blind(kernel_size, stride, n):
    return np.full((n - 1) * stride + kernel_size, kernel_size // stride)


def overlap_counts_window_too_long(kernel_size, stride, n):
    counts = np.zeros((n - 1) * stride + kernel_size, dtype=int)
    for i in range(n):
        counts[i * stride:i * stride + kernel_size + 1] += 1
    return counts


def overlap_counts_n_times_stride(kernel_size, stride, n):
    return overlap_counts(kernel_size, stride, n)[:n * stride]


def border_fix_plain(img, scale):
    K = d2lfcn.bilinear_kernel(1, 1, 2 * scale)[0, 0].asnumpy()
    return d2lfcn.trans_conv(img, K, scale, scale // 2)


CHECKERS = {
    'check_trans_conv_by_zero_insertion': (
        zero_insertion, [zero_insertion_unflipped,
                         zero_insertion_no_padding_crop,
                         zero_insertion_ignores_output_padding,
                         zero_insertion_output_padding_top_left,
                         zero_insertion_output_padding_both_sides,
                         zero_insertion_pads_only]),
    'check_conv_input_grad': (
        conv_input_grad, [conv_input_grad_zeros, conv_input_grad_plain]),
    'check_overlap_counts': (
        overlap_counts, [overlap_counts_unclipped, overlap_counts_phase_blind,
                         overlap_counts_window_too_long,
                         overlap_counts_n_times_stride,
                         lambda k, s, n: overlap_counts(k, s, n)[None]]),
    'check_bilinear_params': (
        lambda s: (2 * s - s % 2, s // 2), [lambda s: (2 * s, s // 2),
                                            lambda s: (2 * s + 1, s // 2 + 1),
                                            lambda s: 2 * s]),
    'check_border_fix': (
        border_fix, [border_fix_plain,
                     lambda img, s: d2lfcn.upsample_nearest(img, s)]),
}


@pytest.mark.parametrize('name', sorted(CHECKERS))
def test_reference_solution_passes_and_stub_is_not_solved_yet(name):
    checker = getattr(d2lfcn, name)
    assert checker(CHECKERS[name][0]).passed
    report = checker(stub)
    assert report.status == 'not solved yet'
    assert 'not solved yet' in repr(report) and '✗' not in repr(report)


def test_the_teacher_editions_overlap_formula_passes():
    assert d2lfcn.check_overlap_counts(overlap_counts_formula).passed


DIAGNOSES = [
    ('check_trans_conv_by_zero_insertion', zero_insertion_unflipped,
     'unflipped kernel'),
    ('check_trans_conv_by_zero_insertion',
     zero_insertion_ignores_output_padding,
     'output_padding adds that many rows at the bottom and columns at the '
     'right'),
    ('check_trans_conv_by_zero_insertion',
     zero_insertion_output_padding_top_left,
     'belong at the bottom and right'),
    ('check_trans_conv_by_zero_insertion',
     zero_insertion_output_padding_both_sides,
     'on one side only, at the bottom and right'),
    ('check_trans_conv_by_zero_insertion', zero_insertion_pads_only,
     'is negative there: take rows or columns away'),
    ('check_conv_input_grad', conv_input_grad_plain, 'rows or columns short'),
    ('check_overlap_counts', overlap_counts_unclipped,
     'near the two ends fewer copies exist'),
    ('check_overlap_counts', overlap_counts_phase_blind,
     'are covered by different numbers of copies'),
    ('check_overlap_counts', overlap_counts_window_too_long,
     'Each copy covers exactly kernel_size pixels'),
    ('check_overlap_counts', overlap_counts_n_times_stride,
     'counts, one per output pixel'),
    ('check_bilinear_params', lambda s: (2 * s, s // 2), '(n-1)*s + k - 2p'),
    ('check_border_fix', border_fix_plain, 'plain transposed convolution'),
]


@pytest.mark.parametrize('name,wrong,phrase', DIAGNOSES,
                         ids=[f'{n}-{p[:30]}' for n, _, p in DIAGNOSES])
def test_typical_mistakes_get_their_diagnosis(name, wrong, phrase):
    report = getattr(d2lfcn, name)(wrong)
    assert report.status == 'wrong'
    assert phrase in repr(report), repr(report)


def test_zero_insertion_diagnoses_name_the_right_cases():
    text = repr(d2lfcn.check_trans_conv_by_zero_insertion(
        zero_insertion_pads_only))
    # the recipe of Section 1.8 is right wherever padding <= k - 1
    assert '✓ X 4x3, K 3x2, stride 3, padding 1, output_padding 2' in text
    assert '✗ X 3x3, K 2x3, stride 3, padding 2 > k - 1' in text
    text = repr(d2lfcn.check_trans_conv_by_zero_insertion(
        zero_insertion_ignores_output_padding))
    assert '✓ X 2x2, K 3x3, stride 2, padding 0, output_padding 0' in text
    assert 'expected shape (7, 9), got (6, 8)' in text


def test_overlap_counts_reports_say_where_and_never_the_formula():
    text = repr(d2lfcn.check_overlap_counts(overlap_counts_phase_blind))
    assert 'at output pixel 2 expected 2 copies, got 1' in text
    assert 'ceil' not in text and '//' not in text
    text = repr(d2lfcn.check_overlap_counts(lambda k, s, n: 'many'))
    assert 'expected an array of counts' in text or \
        'expected a 1-D array' in text


def test_the_reference_counts_match_the_chapter():
    """Section 2.6's interior counts: 1 and 2 (so 1, 2, 4 in 2-D) for k = 3,
    4 for k = 4, both with stride 2."""
    assert set(overlap_counts(3, 2, 6)[2:-2]) == {1, 2}
    assert set(overlap_counts(4, 2, 6)[3:-3]) == {2}
    assert list(overlap_counts(1, 2, 3)) == [1, 0, 1, 0, 1]
