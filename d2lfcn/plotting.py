"""Small matplotlib helpers for showing images and segmentation labels."""
import numpy as np

from d2lfcn.data import (VOC_CLASSES, VOC_COLORMAP, denormalize_image,
                         label_to_rgb)


def _as_picture(img):
    """numpy (h, w), (h, w, 3) or a normalised (3, h, w) NDArray -> numpy."""
    if hasattr(img, 'asnumpy'):
        img = img.asnumpy()
    img = np.asarray(img)
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
