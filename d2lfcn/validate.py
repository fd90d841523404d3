"""Argument checks shared by the d2lfcn helpers.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the
argument, the value it got and what would be accepted, so that a learner sees
the problem in one line instead of a deep MXNet traceback.
"""
import numbers

import numpy as np


def error_line(error, limit=200):
    """What went wrong in `error` (an exception), in one line of at most
    `limit` characters. MXNet 1.9 opens its messages with a C++ traceback
    ("Traceback (most recent call last):", then "  File ..." lines) and puts
    its message last; those lines and the "MXNetError: " prefix are
    dropped. Other messages keep their first line."""
    lines = [line.strip() for line in str(error).splitlines()]
    if lines and lines[0].startswith('Traceback (most recent call last)'):
        lines = [line for line in lines[1:] if not line.startswith('File "')]
    said = [line for line in lines if line]
    text = said[0] if said else type(error).__name__
    if text.startswith('MXNetError: '):
        text = text[len('MXNetError: '):]
    limit = max(limit, 4)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def as_numpy(x, dtype=None):
    """x as a numpy array: an MXNet NDArray is copied to the host first."""
    return np.asarray(x.asnumpy() if hasattr(x, 'asnumpy') else x, dtype=dtype)


def as_matrix(x, name):
    """Return ``x`` as a 2-D float numpy array, or raise naming ``name``.

    Accepts numpy arrays, nested lists and MXNet NDArrays of shape (h, w).
    """
    try:
        arr = as_numpy(x, np.float64)
    except (TypeError, ValueError):
        raise TypeError(f'{name} must be a 2-D array of numbers, '
                        f'got {type(x).__name__}') from None
    if arr.ndim != 2:
        raise ValueError(f'{name} must be 2-D (height, width), '
                         f'got shape {arr.shape}')
    if arr.size == 0:
        raise ValueError(f'{name} must not be empty, got shape {arr.shape}')
    return arr


def as_image(img, name='img'):
    """Return ``img`` as a numpy array of shape (h, w) or (h, w, c)."""
    arr = as_numpy(img)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError(f'{name} must be a non-empty array of shape (h, w) '
                         f'or (h, w, c), got shape {arr.shape}')
    if not (np.issubdtype(arr.dtype, np.number)
            or arr.dtype == np.bool_):
        raise TypeError(f'{name} must hold numbers, got dtype {arr.dtype}')
    return arr


def int_at_least(value, name, minimum):
    """Return ``value`` as an int if it is an integer >= ``minimum``."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise TypeError(f'{name} must be an integer, got {value!r} '
                        f'({type(value).__name__})')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def num_classes(value):
    """Return the number of classes as an int (Python or numpy integer >=
    2), or raise ValueError naming the value."""
    if isinstance(value, (bool, np.bool_)) or \
            not isinstance(value, numbers.Integral) or value < 2:
        raise ValueError(f'num_classes must be an integer >= 2, got '
                         f'{value!r}')
    if value > 255:
        raise ValueError(f'num_classes must be at most 255, got {value}: the '
                         f'label 255 means "ignore" (as in VOC), so a class '
                         f'255 could never be scored')
    return int(value)


def positive_int(value, name):
    """Return ``value`` if it is an integer >= 1, else raise."""
    return int_at_least(value, name, 1)


def nonnegative_int(value, name):
    """Return ``value`` if it is an integer >= 0, else raise."""
    return int_at_least(value, name, 0)


def kernel_fits(kernel_shape, input_shape, padding=0):
    """Raise if a kernel of ``kernel_shape`` does not fit the padded input."""
    for axis, (k, n) in enumerate(zip(kernel_shape, input_shape)):
        if k > n + 2 * padding:
            raise ValueError(
                f'kernel is larger than the input along axis {axis}: '
                f'kernel {tuple(kernel_shape)}, input {tuple(input_shape)}'
                + (f' with padding {padding}' if padding else '')
                + '; use a smaller kernel or a larger input')


def shape2d(shape, name):
    """Return ``shape`` as a (height, width) tuple of positive ints."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f'{name} must be a (height, width) pair, '
                         f'got {shape!r}')
    return (positive_int(shape[0], f'{name}[0]'),
            positive_int(shape[1], f'{name}[1]'))
