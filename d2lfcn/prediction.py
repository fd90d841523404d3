"""Chapter 6: predicting every pixel of whole images of any size.

The FCNs of d2lfcn.model accept any height and width: they upsample the
stride-32 scores to 32 * ceil(H / 32) rows and crop the rows and columns past
the image (see FCN.hybrid_forward), so predict() feeds the whole image as it
is, with no resizing, padding or tiling, and the class map it returns always
has the image's own size.
"""
# Taught in notebooks/06_prediction.ipynb (predict, overlay): edit there, then
# run python tools/sync_code.py. Not written out in a notebook: as_rgb_image.
import os

import numpy as np

from d2lfcn import validate
from d2lfcn.data import normalize_image
from d2lfcn.devices import checked_devices
from d2lfcn.voc import label_to_rgb


def as_rgb_image(image, name='image'):
    """Return `image` as an (h, w, 3) uint8 RGB array.

    Accepts (h, w) grey (repeated into three channels), (h, w, 1), (h, w, 3)
    and (h, w, 4) RGBA (composited over white, as an image viewer shows it),
    as uint8, or float in [0, 1]. Raises ValueError naming the problem.
    """
    if isinstance(image, (str, os.PathLike)):
        raise TypeError(f'{name} must be pixels, got the path {str(image)!r}; '
                        f'read the file first, e.g. '
                        f'np.asarray(PIL.Image.open(path))')
    arr = validate.as_numpy(image)
    if arr.size == 0 or arr.ndim not in (2, 3):
        raise ValueError(f'{name} must be a non-empty (h, w) or (h, w, c) '
                         f'array, got shape {arr.shape}')
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise ValueError(f'{name} has {arr.shape[2]} channels; expected 1 '
                         f'(grey), 3 (RGB) or 4 (RGBA), in (h, w, c) order')
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f'{name} must be uint8 (0-255) or float (0-1), '
                            f'got dtype {arr.dtype}')
        if not np.isfinite(arr).all():
            raise ValueError(f'{name} holds {int((~np.isfinite(arr)).sum())} '
                             f'NaN or infinite values; pixels must be finite')
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(f'{name} is float with values outside [0, 1] '
                             f'({arr.min():.3g} to {arr.max():.3g}); pass '
                             f'uint8 pixels or scale to [0, 1]')
        arr = (arr * 255).round().astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] == 1:
        return np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:].astype(np.float32) / 255
        rgb = arr[:, :, :3] * alpha + 255 * (1 - alpha)
        return rgb.round().astype(np.uint8)
    return arr


def predict(net, image, devices):
    """Class map (h, w) int64 of an image (h, w[, c]) of any size.

    image: uint8 or [0, 1] float pixels, grey, RGB or RGBA (see
    as_rgb_image); it is normalised like the training data and scored on
    devices[0] in one pass.
    """
    device = checked_devices(devices)[0]
    x = normalize_image(as_rgb_image(image)).expand_dims(0)
    scores = net(x.as_in_context(device))
    return scores.argmax(axis=1)[0].asnumpy().astype(np.int64)


def overlay(image, pred, alpha=0.5):
    """Blend the coloured class map over the image (both (h, w[, c]));
    background pixels (class 0) keep the image. Returns (h, w, 3) uint8."""
    image = as_rgb_image(image)
    pred = validate.as_image(pred, 'pred')
    colours = label_to_rgb(pred)
    if colours.shape[:2] != image.shape[:2]:
        raise ValueError(f'pred is {colours.shape[:2]}, image is '
                         f'{image.shape[:2]}: they must have the same size')
    mix = (1 - alpha) * image + alpha * colours
    background = (pred == 0)[:, :, None]
    return np.where(background, image, mix.round()).astype(np.uint8)
