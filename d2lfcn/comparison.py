"""Comparing two training set-ups with paired runs over seeds.

Two arms (say FCN-8s and FCN-32s) are trained once per seed, with the same
seeds, so that the seed-k runs of both start from the same random state and
see the same crops in the same order: what differs within a pair is the
set-up alone. The difference d_k = a_k - b_k of pair k is one measurement
of the effect; their mean, with a Student t interval over the pairs, says
how large the effect is and how sure n seeds can make us. Half the range of
two runs is no such interval: it says how far two runs disagreed, not how
far a third could fall.
"""
from typing import NamedTuple

import numpy as np
from scipy import stats


class PairedDifference(NamedTuple):
    """The mean of n paired differences a_k - b_k and its interval."""
    mean: float
    low: float          # the interval is [low, high]
    high: float
    n: int              # pairs (seeds)
    confidence: float   # e.g. 0.95
    detectable: float   # see paired_difference

    @property
    def excludes_zero(self):
        """True if the interval lies wholly above or wholly below 0."""
        return self.low > 0 or self.high < 0


def _pairs(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f'a and b must be two lists of the same length, one '
                         f'value per seed, in the same seed order; got shapes '
                         f'{a.shape} and {b.shape}')
    if len(a) < 2:
        raise ValueError(f'a paired interval needs at least 2 seeds, got '
                         f'{len(a)}: run each arm with more seeds')
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError('a and b must be finite numbers (a run without a '
                         'result has no place in a comparison)')
    return a, b


def paired_difference(a, b, confidence=0.95, power=0.8):
    """Mean of a[k] - b[k] over the n seeds k, with its Student t interval.

    a, b: one number per seed (e.g. validation mean IoU), a[k] and b[k] from
    runs with the same seed. The interval is mean +- t * s / sqrt(n), with s
    the standard deviation of the n differences and t the quantile of the t
    distribution with n - 1 degrees of freedom. `detectable` is the smallest
    true difference that such a design finds (an interval excluding 0) with
    probability `power`, given the spread s that it saw: (t + t_power) *
    s / sqrt(n). Smaller effects usually go unnoticed.
    """
    a, b = _pairs(a, b)
    d = a - b
    n = len(d)
    scale = d.std(ddof=1) / np.sqrt(n)
    t = stats.t.ppf((1 + confidence) / 2, n - 1)
    t_power = stats.t.ppf(power, n - 1)
    mean = float(d.mean())
    return PairedDifference(mean, mean - t * scale, mean + t * scale, n,
                            confidence, float((t + t_power) * scale))


def verdict(a, b, name_a, name_b, confidence=0.95):
    """A sentence on a paired comparison of a and b (see paired_difference):
    both means, the mean difference with its interval, and what follows."""
    diff = paired_difference(a, b, confidence)
    percent = f'{100 * confidence:g}%'
    text = (f'{name_a} {np.mean(a):.3f} vs {name_b} {np.mean(b):.3f} over '
            f'{diff.n} paired seeds: difference {diff.mean:+.3f}, {percent} '
            f'interval [{diff.low:+.3f}, {diff.high:+.3f}]')
    if diff.excludes_zero:
        better = name_a if diff.mean > 0 else name_b
        return f'{text}: {better} is ahead.'
    return (f'{text}: the interval includes 0, so these runs cannot tell the '
            f'two apart; a true difference smaller than about '
            f'{diff.detectable:.3f} would usually go unnoticed with '
            f'{diff.n} seeds.')
