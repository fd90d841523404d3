"""Small matplotlib helpers for showing images and segmentation labels."""
import numpy as np

from d2lfcn.data import denormalize_image
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
    imgs = [_as_picture(img) for img in imgs]
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


_FCN_COLOURS = {'input': '#dddddd', 'stage': '#a6cee3', 'score': '#fdbf6f',
                'up': '#b2df8a'}


def plot_history(history, num_epochs, figure=None, handle=None):
    """Draw loss, pixel accuracy and mean IoU per epoch of a train() history
    in a notebook; called again with the returned (figure, handle), it
    redraws in place (one display that is updated, so other output of the
    cell stays)."""
    import matplotlib.pyplot as plt
    from IPython import display
    if figure is None:
        figure = plt.figure(figsize=(9, 3))
    figure.clf()
    axes = figure.subplots(1, 3)
    epochs = [h['epoch'] for h in history]
    axes[0].plot(epochs, [h['train_loss'] for h in history], 'o-',
                 label='train')
    axes[0].set_title('loss')
    for ax, key in ((axes[1], 'pixel_accuracy'), (axes[2], 'mean_iou')):
        ax.plot(epochs, [h[f'train_{key}'] for h in history], 'o-',
                label='train crops')
        if f'val_{key}' in history[0]:
            ax.plot(epochs, [h[f'val_{key}'] for h in history], 's--',
                    label='val whole images')
        ax.set_title(key.replace('_', ' '))
        ax.set_ylim(0, 1)
    for ax in axes:
        ax.set_xlim(0.5, num_epochs + 0.5)
        ax.set_xlabel('epoch')
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    if handle is None:
        handle = display.display(figure, display_id=True)
    else:
        handle.update(figure)
    return figure, handle


def _node(ax, x, y, text, kind, width=0.9):
    """A box of colour _FCN_COLOURS[kind] (a circle if kind is 'add')."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    if kind == 'add':
        ax.add_patch(plt.Circle((x, y), 0.17, fc='white', ec='k', lw=0.8))
    else:
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.3), width, 0.6,
                                    boxstyle='round,pad=0.02', lw=0.8,
                                    fc=_FCN_COLOURS[kind], ec='k'))
    ax.text(x, y, text, ha='center', va='center', fontsize=6.5)


def _arrow(ax, start, end, bend=False):
    """An arrow from start to end; bend: go down first, then right."""
    style = 'angle,angleA=-90,angleB=180,rad=0' if bend else 'arc3'
    ax.annotate('', xy=end, xytext=start, arrowprops=dict(
        arrowstyle='->', lw=0.8, shrinkA=0, shrinkB=0, connectionstyle=style))


def draw_fcn(ax, variant):
    """Draw FCN-32s, -16s or -8s (variant '32s', '16s', '8s') on ResNet-18 as
    boxes and arrows: the backbone and main path on one line, the skip score
    layers below it, each feeding an addition."""
    top = [('image\nH x W', 'input'),
           ('stem +\nstages 1-2\n/8, 128 ch', 'stage'),
           ('stage 3\n/16, 256 ch', 'stage'), ('stage 4\n/32, 512 ch', 'stage'),
           ('score32\n1x1 conv', 'score')]
    skips = {'16s': ['16'], '8s': ['16', '8']}.get(variant, [])
    for s in skips:
        top += [('up x2\n/32 to /16' if s == '16' else 'up x2\n/16 to /8',
                 'up'), ('+', 'add')]
    top += [(f'up x{variant[:-1]}\n/{variant[:-1]} to /1', 'up'),
            ('scores\nH x W', 'input')]
    xs = [0.6 + 1.1 * i for i in range(len(top))]
    for i, (x, (text, kind)) in enumerate(zip(xs, top)):
        _node(ax, x, 1, text, kind)
        if i:
            gap = [0.17 if k == 'add' else 0.45 for _, k in top[i - 1:i + 1]]
            _arrow(ax, (xs[i - 1] + gap[0], 1), (x - gap[1], 1))
    adds = [x for x, (_, kind) in zip(xs, top) if kind == 'add']
    for s, x_add in zip(skips, adds):
        source, y = (xs[2], 0) if s == '16' else (xs[1], -0.8)
        _node(ax, x_add, y, f'score{s}\n1x1, zero init', 'score', width=1.0)
        _arrow(ax, (source, 0.7), (x_add - 0.5, y), bend=True)
        _arrow(ax, (x_add, y + 0.3), (x_add, 0.83))
    ax.set_xlim(0, 12.2)
    ax.set_ylim(-1.2 if skips[1:] else -0.4 if skips else 0.6, 1.4)
    ax.set_aspect('equal')
    ax.axis('off')
    ax.set_title(f'FCN-{variant}', fontsize=9, loc='left')
