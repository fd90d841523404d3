"""Semantic segmentation data: crops, normalisation, datasets, batches.

The datasets read a folder in the Pascal VOC layout (``d2lfcn.voc``); which
folder that is (the real VOC or the generated sample set) is decided above
them, by ``d2lfcn.find_voc_dir``. They keep the files' compressed bytes (or
uint8 arrays) and normalise one crop at a time, never a float copy of every
image.
"""
# Taught in notebooks/03_semantic_segmentation_data.ipynb (voc_rand_crop,
# pad_to_size, normalize_image, VOCSegDataset): edit there, then run python
# tools/sync_code.py. Not written out in a notebook: RGB_MEAN, RGB_STD,
# pair_size, crop_window, crop_size, keep_mode, scale_range, dataset_args,
# some_fit, some_labelled, random_scale, denormalize_image, VOCWholeImages,
# load_data_voc.
import cv2
import numpy as np
from mxnet import gluon, nd

from d2lfcn import validate
from d2lfcn.voc import IGNORE_LABEL, checked_voc_dir, decoded, read_voc_images

RGB_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
"""ImageNet mean of the R, G, B channels, for pixel values in [0, 1]."""
RGB_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
"""ImageNet standard deviation of the R, G, B channels (values in [0, 1])."""


# Argument checks of the crops and datasets below (chapter 3 uses them too).

def pair_size(feature, label, height, width, channels=None):
    """(h, w) of an image (h, w, c) and its label (h, w) of the same size,
    given with a target height x width (positive ints); channels: the c the
    image must have (None: any, or a grey (h, w) image). ValueError or
    TypeError naming the argument otherwise."""
    validate.positive_int(height, 'height')
    validate.positive_int(width, 'width')
    feature_shape, label_shape = np.shape(feature), np.shape(label)
    if not (len(feature_shape) in (2, 3) if channels is None else
            feature_shape[2:] == (channels,)):
        raise ValueError(f'feature must be an (h, w, {channels or "c"}) '
                         f'image, got shape {feature_shape}')
    if len(label_shape) != 2:
        raise ValueError(f'label must be (h, w) class indices, got shape '
                         f'{label_shape}')
    if feature_shape[:2] != label_shape:
        raise ValueError(f'feature is {feature_shape[:2]} but label is '
                         f'{label_shape} (height, width); they must have the '
                         f'same size')
    return label_shape


def crop_window(feature, label, height, width):
    """(h, w) of an image and its label of the same size, from which a
    height x width window can be cropped; ValueError otherwise."""
    feature_hw = pair_size(feature, label, height, width)
    if height > feature_hw[0] or width > feature_hw[1]:
        raise ValueError(
            f'cannot crop {height}x{width} out of a {feature_hw[0]}x'
            f'{feature_hw[1]} image; pad it first (pad_to_size) or use '
            f'a smaller crop')
    return feature_hw


def crop_size(value):
    """(height, width) of a crop, from a pair of positive ints."""
    return validate.shape2d(tuple(value) if isinstance(value, list) else value,
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


def some_labelled(labels, is_train, voc_dir):
    """ValueError when every pixel of every label (arrays or EncodedImage)
    is 255: nothing to learn, or to score. Stops at the first label that
    holds a class, so real data costs one decode."""
    if any((decoded(label) != IGNORE_LABEL).any() for label in labels):
        return
    raise ValueError(
        f'every pixel of the {len(labels)} {"train" if is_train else "val"} '
        f'labels in {voc_dir} is {IGNORE_LABEL} (ignore): there is nothing '
        f'to learn. Labels hold class indices (0-20 in VOC) with 255 only '
        f'where a pixel is not to be scored: check the files in '
        f'SegmentationClass/')


def voc_rand_crop(feature, label, height, width):
    """Crop the same random height x width window out of an image and its
    label: (h, w, 3) and (h, w) arrays in, (height, width, 3) and
    (height, width) views out."""
    h, w = crop_window(feature, label, height, width)
    top = np.random.randint(0, h - height + 1)
    left = np.random.randint(0, w - width + 1)
    return (feature[top:top + height, left:left + width],
            label[top:top + height, left:left + width])


def pad_to_size(feature, label, height, width):
    """Pad an image and its label at the bottom and right to at least
    height x width: the image with the ImageNet mean colour (0 once
    normalised), the label with 255 so that no loss counts the padding."""
    h, w = pair_size(feature, label, height, width, channels=3)
    dh, dw = max(height - h, 0), max(width - w, 0)
    if dh == 0 and dw == 0:
        return feature, label
    fill = np.round(RGB_MEAN * 255).astype(np.uint8)
    padded = np.empty((h + dh, w + dw, 3), dtype=np.uint8)
    padded[...] = fill
    padded[:h, :w] = feature
    padded_label = np.full((h + dh, w + dw), IGNORE_LABEL, dtype=np.uint8)
    padded_label[:h, :w] = label
    return padded, padded_label


def random_scale(feature, label, low, high):
    """Resize image and label by one random factor in [low, high]:
    bilinear for the image, nearest neighbour for the label (no new
    classes appear between two classes)."""
    factor = np.random.uniform(low, high)
    h, w = label.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return (cv2.resize(np.ascontiguousarray(feature), size,
                       interpolation=cv2.INTER_LINEAR),
            cv2.resize(np.ascontiguousarray(label), size,
                       interpolation=cv2.INTER_NEAREST))


def normalize_image(feature):
    """uint8 (h, w, 3) RGB -> float32 NDArray (3, h, w), standardised
    per channel with the ImageNet mean and standard deviation."""
    x = nd.array(feature, dtype='uint8')
    return nd.image.normalize(nd.image.to_tensor(x), mean=tuple(RGB_MEAN),
                              std=tuple(RGB_STD))


def denormalize_image(feature):
    """Inverse of normalize_image: NDArray/array (3, h, w) -> uint8
    (h, w, 3), for showing a batch."""
    x = validate.as_numpy(feature).transpose(1, 2, 0) * RGB_STD + RGB_MEAN
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


# ---------------------------------------------------------------- datasets --

class VOCSegDataset(gluon.data.Dataset):
    """Random crop_size = (height, width) crops of a VOC split.

    Item i is (image, label): a float32 NDArray (3, height, width),
    normalised, and a float32 NDArray (height, width) of class indices, 255 =
    ignore. Images smaller than the crop are left out (counted in
    num_filtered) unless pad=True pads them with label 255. Training options:
    flip=True flips image and label together half of the time; scale=(0.5,
    2.0) resizes by a random factor first. keep='encoded' holds the files'
    compressed bytes and decodes an image when it is used; keep='decoded'
    holds uint8 arrays (faster, about ten times the memory).
    """

    def __init__(self, is_train, crop_size, voc_dir, pad=False,
                 flip=False, scale=None, keep='encoded'):
        self.crop_size, self.scale, encoded = dataset_args(
            crop_size, scale, keep)
        self.voc_dir = checked_voc_dir(voc_dir)
        self.pad, self.flip = pad, flip
        features, labels = read_voc_images(self.voc_dir, is_train, encoded)
        kept = [i for i, label in enumerate(labels)
                if pad or self._fits(label.shape)]
        some_fit(kept, labels, self.crop_size)
        self.features = [features[i] for i in kept]
        self.labels = [labels[i] for i in kept]
        some_labelled(self.labels, is_train, self.voc_dir)
        self.num_filtered = len(labels) - len(kept)
        print(f'read {len(kept)} examples'
              + (f' ({self.num_filtered} smaller than the crop '
                 f'{self.crop_size} left out)' if self.num_filtered else ''))

    def _fits(self, shape):
        return shape[0] >= self.crop_size[0] and shape[1] >= self.crop_size[1]

    def __getitem__(self, idx):
        feature = decoded(self.features[idx])
        label = decoded(self.labels[idx])
        if self.scale:
            feature, label = random_scale(feature, label, *self.scale)
        feature, label = pad_to_size(feature, label, *self.crop_size)
        feature, label = voc_rand_crop(feature, label, *self.crop_size)
        if self.flip and np.random.rand() < 0.5:
            feature, label = feature[:, ::-1], label[:, ::-1]
        return (normalize_image(feature),
                nd.array(label, dtype='float32'))

    def __len__(self):
        return len(self.features)


class VOCWholeImages(gluon.data.Dataset):
    """Whole, uncropped images of a split, for evaluation.

    Item i is (image, label): float32 NDArrays (3, h, w), normalised, and
    (h, w) class indices with 255 = ignore, at the image's own size (batch
    them one at a time). multiple=32 pads bottom and right to a multiple of
    32 (label 255 in the padding), which an FCN with stride 32 needs to give
    back an output of the same size. keep: as in VOCSegDataset.
    """

    def __init__(self, is_train, voc_dir, multiple=1, keep='encoded'):
        self.voc_dir = checked_voc_dir(voc_dir)
        self.multiple = validate.positive_int(multiple, 'multiple')
        self.features, self.labels = read_voc_images(
            self.voc_dir, is_train, encoded=keep_mode(keep))

    def __getitem__(self, idx):
        feature = decoded(self.features[idx])
        label = decoded(self.labels[idx])
        m = self.multiple
        h, w = label.shape
        feature, label = pad_to_size(feature, label, -(-h // m) * m,
                                     -(-w // m) * m)
        return normalize_image(feature), nd.array(label, dtype='float32')

    def __len__(self):
        return len(self.features)


def load_data_voc(batch_size, crop_size, voc_dir, num_workers=0,
                  **train_options):
    """What train() takes: (train_iter, val_images) of the VOC folder voc_dir.

    train_iter is a DataLoader of random crops of the train split, batches
    of (float32 (batch_size, 3, height, width), float32 (batch_size, height,
    width)), with crop_size = (height, width) in pixels; incomplete last
    batches are dropped. train_options (pad, flip, scale) go to its
    VOCSegDataset. val_images is VOCWholeImages of the val split: whole
    images, one at a time, which is how an FCN is evaluated.
    """
    validate.positive_int(batch_size, 'batch_size')
    validate.nonnegative_int(num_workers, 'num_workers')
    train = VOCSegDataset(True, crop_size, voc_dir, **train_options)
    if len(train) < batch_size:
        raise ValueError(
            f'batch_size {batch_size} is larger than the {len(train)} '
            f'usable train images; use a smaller batch_size')
    train_iter = gluon.data.DataLoader(train, batch_size, shuffle=True,
                                       last_batch='discard',
                                       num_workers=num_workers)
    return train_iter, VOCWholeImages(False, voc_dir)
