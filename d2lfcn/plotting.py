"""Small matplotlib helpers for showing images and segmentation labels."""
import numpy as np

from d2lfcn.data import denormalize_image
from d2lfcn import validate
from d2lfcn.validate import as_numpy
from d2lfcn.voc import VOC_CLASSES, VOC_COLORMAP, label_to_rgb


def _as_picture(img):
    """numpy (h, w), (h, w, 3) or a normalised (3, h, w) NDArray -> numpy."""
    img = as_numpy(img)
    if img.ndim == 3 and img.shape[0] == 3 and img.shape[2] != 3:
        return denormalize_image(img)
    return img


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """Show num_rows x num_cols pictures in a grid; returns the axes.

    imgs: a list of (h, w, 3) uint8 pictures, (h, w) label arrays (shown
    with the VOC colours) or normalised (3, h, w) NDArrays; scale: inches per
    picture width (heights follow the images' median aspect ratio).
    """
    import matplotlib.pyplot as plt
    num_rows = validate.positive_int(num_rows, 'num_rows')
    num_cols = validate.positive_int(num_cols, 'num_cols')
    imgs = [_as_picture(img) for img in imgs]
    if not imgs:
        raise ValueError('show_images got no images: pass a list of at least '
                         'one picture')
    if len(imgs) > num_rows * num_cols:
        raise ValueError(
            f'show_images got {len(imgs)} images for a {num_rows} x '
            f'{num_cols} grid of {num_rows * num_cols} cells; pass num_rows '
            f'and num_cols with room for all (num_rows = '
            f'{-(-len(imgs) // num_cols)}), or fewer images')
    aspect = np.median([img.shape[0] / img.shape[1] for img in imgs])
    fig, axes = plt.subplots(num_rows, num_cols, squeeze=False,
                             figsize=(num_cols * scale,
                                      num_rows * scale * min(aspect, 1.5)
                                      + 0.3 * (titles is not None)))
    axes = axes.ravel()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        ax.imshow(label_to_rgb(img) if img.ndim == 2 else img)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=8)
    for ax in axes[len(imgs):]:
        ax.axis('off')
    return axes


def class_legend(ax=None, classes=None, ncol=1, fontsize=7):
    """Add a legend of VOC class colours (and the ignore colour) to ax."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    ax = plt.gca() if ax is None else ax
    indices = range(len(VOC_CLASSES)) if classes is None else classes
    handles = [Patch(color=np.array(VOC_COLORMAP[i]) / 255,
                     label=f'{i} {VOC_CLASSES[i]}') for i in indices]
    handles.append(Patch(color=np.array([224, 224, 192]) / 255,
                         label='255 ignore'))
    ax.legend(handles=handles, loc='center left', bbox_to_anchor=(1, 0.5),
              ncol=ncol, fontsize=fontsize, frameon=False)
    return ax


# Chapter 6: pictures of a confusion matrix and a table of IoUs ---------------

def plot_confusion(confusion, classes=None, ax=None, log=True, fontsize=6):
    """Show a confusion matrix n[true, predicted] with each row divided by
    its sum (the share of a true class given to each predicted class).

    log: logarithmic colours from 0.1% to 100%, so that small confusions
    show next to a dominant background. Rows of classes that never occur in
    the labels stay blank. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, Normalize
    n = np.asarray(confusion, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise ValueError(f'confusion must be a square (C, C) matrix, got '
                         f'shape {n.shape}')
    classes = VOC_CLASSES[:len(n)] if classes is None else list(classes)
    if len(classes) != len(n):
        raise ValueError(f'{len(classes)} class names for a {len(n)}x'
                         f'{len(n)} confusion matrix')
    rows = n.sum(axis=1, keepdims=True)
    with np.errstate(divide='ignore', invalid='ignore'):
        share = np.where(rows > 0, n / rows, np.nan)
    if log:
        share = np.where(share > 0, share, np.nan)   # log 0: blank
    ax = plt.gca() if ax is None else ax
    norm = LogNorm(1e-3, 1) if log else Normalize(0, 1)
    image = ax.imshow(np.ma.masked_invalid(share), cmap='viridis', norm=norm)
    ticks = range(len(n))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels(classes, rotation=90, fontsize=fontsize)
    ax.set_yticklabels(classes, fontsize=fontsize)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                       label='share of the true class\'s pixels')
    return ax


def iou_table(confusion, classes=None, digits=3):
    """A pandas DataFrame with one row per class: its pixels in the labels,
    its pixels in the predictions, its accuracy and its IoU (rounded);
    'absent' where a class occurs in neither (no IoU)."""
    import pandas as pd

    from d2lfcn.metrics import metrics_from_confusion
    n = np.asarray(confusion, dtype=np.int64)
    classes = VOC_CLASSES[:len(n)] if classes is None else list(classes)
    iou = metrics_from_confusion(n)['per_class_iou']
    true, predicted = n.sum(axis=1), n.sum(axis=0)
    with np.errstate(divide='ignore', invalid='ignore'):
        accuracy = np.where(true > 0, np.diag(n) / true, np.nan)

    def shown(values):
        return [('absent' if t == 0 and p == 0 else '-') if np.isnan(v)
                else round(float(v), digits)
                for v, t, p in zip(values, true, predicted)]
    return pd.DataFrame({'pixels': true, 'predicted': predicted,
                         'accuracy': shown(accuracy), 'IoU': shown(iou)},
                        index=pd.Index(classes, name='class'))
