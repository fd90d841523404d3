"""Argument checks shared by the d2lfcn helpers.

Each check raises a ``ValueError`` or ``TypeError`` whose message names the
argument, the value it got and what would be accepted, so that a learner sees
the problem in one line instead of a deep MXNet traceback.
"""
import numbers

import numpy as np


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


def crop_window(feature, label, height, width):
    """(h, w) of an image and its label of the same size, from which a
    height x width window can be cropped; ValueError otherwise."""
    positive_int(height, 'height')
    positive_int(width, 'width')
    feature_hw, label_hw = np.shape(feature)[:2], np.shape(label)[:2]
    if feature_hw != label_hw:
        raise ValueError(f'feature is {feature_hw} but label is {label_hw} '
                         f'(height, width); they must have the same size')
    if height > feature_hw[0] or width > feature_hw[1]:
        raise ValueError(
            f'cannot crop {height}x{width} out of a {feature_hw[0]}x'
            f'{feature_hw[1]} image; pad it first (pad_to_size) or use '
            f'a smaller crop')
    return feature_hw


def crop_size(value):
    """(height, width) of a crop, from a pair of positive ints."""
    return shape2d(tuple(value) if isinstance(value, list) else value,
                   'crop_size')


def keep_mode(keep):
    """True for keep='encoded' (compressed bytes in memory), False for
    'decoded' (uint8 arrays); ValueError for anything else."""
    if keep not in ('encoded', 'decoded'):
        raise ValueError(f"keep must be 'encoded' (compressed bytes in "
                         f"memory) or 'decoded' (uint8 arrays), got {keep!r}")
    return keep == 'encoded'


def scale_range(scale):
    """None, or (low, high) random scale factors with 0 < low <= high."""
    if scale is None:
        return None
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise ValueError(f'scale must be None or a pair (low, high) of '
                         f'factors, got {scale!r}') from None
    if not 0 < low <= high:
        raise ValueError(f'scale must satisfy 0 < low <= high, got {scale!r}')
    return low, high


def dataset_args(size, scale, keep):
    """Checked (crop_size, scale, encoded) of a VOCSegDataset."""
    return crop_size(size), scale_range(scale), keep_mode(keep)


def some_fit(kept, labels, size):
    """ValueError naming the largest image when no image (kept is empty)
    is at least crop_size = (height, width)."""
    if kept:
        return
    largest = max(labels, key=lambda a: a.shape[0] * a.shape[1]).shape
    raise ValueError(
        f'crop_size {size} is larger than every one of the '
        f'{len(labels)} images (the largest is {largest[0]}x{largest[1]}); '
        f'use a smaller crop_size or pad=True')


def devices(value):
    """`value` as a non-empty list of MXNet contexts that exist.

    Accepts one context, a list of them, or strings such as 'cpu', 'gpu0',
    'cpu:1' (see d2lfcn.devices.parse_device).
    """
    import mxnet as mx
    from d2lfcn.devices import parse_device
    if isinstance(value, (mx.Context, str)):
        value = [value]
    found = [parse_device(d) if isinstance(d, str) else d
             for d in (value or [])]
    if not found:
        raise ValueError('devices is empty: pass e.g. d2lfcn.try_all_gpus()')
    for d in found:
        if not isinstance(d, mx.Context):
            raise TypeError(f'devices must be MXNet contexts such as mx.cpu() '
                            f'or mx.gpu(0), got {d!r}')
        if d.device_type == 'gpu' and d.device_id >= mx.context.num_gpus():
            raise ValueError(f'{d} does not exist: this machine has '
                             f'{mx.context.num_gpus()} GPU(s); use '
                             f'd2lfcn.try_all_gpus()')
    if len(set(found)) != len(found):
        raise ValueError(f'devices lists a device twice: {found}')
    return found
