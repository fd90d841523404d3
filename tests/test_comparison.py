"""Paired comparisons over seeds: the interval, the verdict, bad input."""
import numpy as np
import pytest
from scipy import stats

from d2lfcn.comparison import paired_difference, verdict

A = [0.62, 0.58, 0.66, 0.60, 0.64]
B = [0.55, 0.56, 0.57, 0.52, 0.60]


def test_interval_is_the_paired_t_interval():
    diff = paired_difference(A, B)
    d = np.subtract(A, B)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert diff.n == 5 and diff.confidence == 0.95
    assert np.isclose(diff.mean, d.mean())
    assert np.allclose([diff.low, diff.high], [d.mean() - half,
                                               d.mean() + half])


@pytest.mark.parametrize('shift', [0.0, 0.01, 0.03, 0.06])
def test_the_interval_excludes_zero_exactly_when_the_paired_t_test_rejects(
        shift):
    rng = np.random.default_rng(3)
    b = rng.uniform(0.4, 0.6, 6)
    a = b + shift + rng.normal(0, 0.02, 6)
    p = stats.ttest_rel(a, b).pvalue
    assert paired_difference(a, b).excludes_zero == (p < 0.05)


def test_pairing_removes_what_the_seeds_share():
    """Seeds that move both arms alike widen an unpaired comparison, not a
    paired one: here every pair differs by 0.02 exactly."""
    b = np.array([0.30, 0.45, 0.60, 0.38])
    diff = paired_difference(b + 0.02, b)
    assert np.isclose(diff.low, 0.02) and np.isclose(diff.high, 0.02)
    assert diff.excludes_zero


def test_detectable_difference_grows_with_the_spread_and_shrinks_with_seeds():
    noise = np.tile([0.03, -0.01, 0.02, -0.04], 4)
    few = paired_difference(noise[:4], np.zeros(4))
    many = paired_difference(noise, np.zeros(16))
    wide = paired_difference(3 * noise[:4], np.zeros(4))
    assert many.detectable < few.detectable < wide.detectable
    assert few.detectable > few.high - few.mean      # more than a half width


def test_verdict_says_which_is_ahead_or_that_it_cannot_tell():
    ahead = verdict(A, B, 'FCN-8s', 'FCN-32s')
    assert 'FCN-8s is ahead' in ahead and '95% interval' in ahead
    assert 'over 5 paired seeds' in ahead
    behind = verdict(B, A, 'FCN-32s', 'FCN-8s')
    assert 'FCN-8s is ahead' in behind and 'difference -0.' in behind
    unclear = verdict([0.50, 0.56, 0.49], [0.52, 0.50, 0.51], 'x', 'y')
    assert 'cannot tell the two apart' in unclear
    assert 'would usually go unnoticed with 3 seeds' in unclear


@pytest.mark.parametrize('a, b, words', [
    ([0.5, 0.6], [0.5], 'same length'),
    ([0.5], [0.4], 'at least 2 seeds'),
    ([[0.5, 0.6]], [[0.4, 0.5]], 'one value per seed'),
    ([0.5, float('nan')], [0.4, 0.5], 'finite'),
])
def test_bad_input_is_named(a, b, words):
    with pytest.raises(ValueError, match=words):
        paired_difference(a, b)
