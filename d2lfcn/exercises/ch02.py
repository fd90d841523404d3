"""Checkers of chapter 2: upsampling and the bilinear kernel."""
import numpy as np

from d2lfcn.convolution import trans_conv
from d2lfcn.exercises.common import _check, _compare
from d2lfcn.upsampling import bilinear_kernel, upsample_bilinear
from d2lfcn.validate import as_numpy


def _overlap_counts(kernel_size, stride, n):
    """Reference: a transposed convolution of ones with a kernel of ones."""
    ones = np.ones((1, n))
    return trans_conv(ones, np.ones((1, kernel_size)), stride)[0]


def _copies(count):
    return f'{count:g} cop{"y" if count == 1 else "ies"}'


def check_overlap_counts(fn):
    """Exercise 2.1: fn(kernel_size, stride, n) returns, for each of the
    (n - 1) * stride + kernel_size output pixels of a 1-D transposed
    convolution of n input pixels (no padding), how many input pixels' kernel
    copies cover it."""
    cases = []
    for k, s, n in ((4, 2, 5), (3, 2, 5), (5, 3, 4), (6, 4, 3), (2, 3, 4),
                    (1, 2, 3), (7, 3, 1), (64, 32, 3)):
        def case(fn, k=k, s=s, n=n):
            expected = _overlap_counts(k, s, n)
            got = fn(k, s, n)
            try:
                got = as_numpy(got, np.float64)
            except (TypeError, ValueError):
                return f'expected an array of counts, got {type(got).__name__}'
            if got.ndim != 1:
                return f'expected a 1-D array, got shape {got.shape}'
            if got.size != expected.size:
                return (f'expected {expected.size} counts, one per output '
                        f'pixel ((n - 1) * stride + kernel_size, chapter 1), '
                        f'got {got.size}')
            if np.array_equal(got, expected):
                return None
            x = int(np.flatnonzero(got != expected)[0])
            problem = (f'at output pixel {x} expected {_copies(expected[x])}, '
                       f'got {got[x]:g}')
            for other in (k - 1, k + 1):
                if other >= 1:
                    wrong = np.zeros(expected.size)
                    counts = _overlap_counts(other, s, n)[:expected.size]
                    wrong[:counts.size] = counts
                    if np.array_equal(got, wrong):
                        return problem + ('. Each copy covers exactly '
                                          'kernel_size pixels, starting at '
                                          'input index * stride')
            inner = slice(k - 1, expected.size - k + 1)
            if expected[inner].size and np.array_equal(got[inner],
                                                       expected[inner]):
                return problem + ('. The interior is right; near the two '
                                  'ends fewer copies exist: only input '
                                  'pixels 0 to n - 1 have one')
            if expected[inner].size > 1 and np.ptp(expected[inner]) > 0 \
                    and np.ptp(got[inner]) == 0:
                return problem + (f'. Your interior counts do not change '
                                  f'with the position, but {k} is not a '
                                  f'multiple of {s}: output pixels of '
                                  f'different phases (position mod stride) '
                                  f'are covered by different numbers of '
                                  f'copies')
            return problem
        cases.append((f'kernel_size {k}, stride {s}, n {n}', case))
    return _check('Exercise 2.1 (overlap counts and the checkerboard)', fn,
                  cases)


def check_bilinear_params(fn):
    """Exercise 2.2: fn(scale) returns (kernel_size, padding) such that a
    stride-`scale` transposed convolution with bilinear_kernel(1, 1, k)
    upsamples by exactly `scale` and equals upsample_bilinear away from the
    border, for odd scales as well as even ones."""
    rng = np.random.default_rng(4)
    cases = []
    for scale in (2, 3, 4, 5, 8):
        X = rng.random((5, 6))

        def case(fn, X=X, scale=scale):
            answer = fn(scale)
            if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
                return f'expected a pair (kernel_size, padding), got {answer!r}'
            k, p = (int(v) for v in answer)
            if k < 1 or p < 0:
                return f'kernel_size must be >= 1 and padding >= 0, got {k}, {p}'
            size = (X.shape[0] - 1) * scale + k - 2 * p
            if size != X.shape[0] * scale:
                return (f'expected {X.shape[0] * scale} output rows for '
                        f'{X.shape[0]} input rows, got (n-1)*s + k - 2p = '
                        f'{size} with kernel_size={k}, padding={p}')
            K = bilinear_kernel(1, 1, k)[0, 0].asnumpy()
            got = trans_conv(X, K, scale, p)
            b = scale // 2  # border rows that would need pixels outside X
            inner = (slice(b, got.shape[0] - b), slice(b, got.shape[1] - b))
            problem = _compare(got[inner], upsample_bilinear(X, scale)[inner])
            if problem:
                problem += (f' (away from a border of {b} pixels). The tent '
                            f'must be centred on the pixel it spreads')
            return problem
        cases.append((f'scale {scale}', case))
    return _check('Exercise 2.2 (bilinear kernel for any scale)', fn, cases)


def check_border_fix(fn):
    """Exercise 2.3: fn(img, scale) upsamples a 2-D image with a bilinear
    transposed convolution (even scale) and matches upsample_bilinear
    everywhere, border included."""
    rng = np.random.default_rng(5)
    cases = []
    for scale, shape in ((2, (4, 5)), (4, (3, 3)), (2, (1, 6))):
        X = rng.random(shape) + 0.5
        K = bilinear_kernel(1, 1, 2 * scale)[0, 0].asnumpy()
        plain = trans_conv(X, K, scale, scale // 2)

        def case(fn, X=X, scale=scale, plain=plain):
            return _compare(fn(X.copy(), scale), upsample_bilinear(X, scale), [
                (plain, 'This is the plain transposed convolution: its '
                        'border pixels get fewer kernel contributions than '
                        'the weights of a bilinear resize add up to')])
        cases.append((f'{shape[0]}x{shape[1]} image, scale {scale}', case))
    return _check('Exercise 2.3 (a border-correct bilinear upsampling)',
                  fn, cases)
