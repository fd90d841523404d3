"""Semantic segmentation data: Pascal VOC 2012 reading, labels, crops, batches.

The same code reads the real Pascal VOC 2012 (``d2lfcn.download``) and the
generated sample dataset (``d2lfcn.make_sample_voc``), which has exactly the
VOC layout::

    VOCdevkit/VOC2012/JPEGImages/<name>.jpg         RGB photos
    VOCdevkit/VOC2012/SegmentationClass/<name>.png  palette PNGs, value=class
    VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt

Labels are (h, w) uint8 arrays of class indices 0-20; 255 marks pixels to
ignore (the thin border VOC draws around every object, padding). Datasets
keep the files' compressed bytes (or uint8 arrays) and normalise one crop at
a time, never a float copy of every image.
"""
import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
from mxnet import gluon, nd
from PIL import Image, ImageFile, UnidentifiedImageError

import d2lfcn
from d2lfcn import validate
from d2lfcn.validate import as_image

VOC_CLASSES = ['background', 'aeroplane', 'bicycle', 'bird', 'boat',
               'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
               'diningtable', 'dog', 'horse', 'motorbike', 'person',
               'potted plant', 'sheep', 'sofa', 'train', 'tv/monitor']
"""The 21 class names of Pascal VOC; the index in this list is the label."""

VOC_COLORMAP = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                [0, 0, 128], [128, 0, 128], [0, 128, 128], [128, 128, 128],
                [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
                [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128],
                [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0],
                [0, 64, 128]]
"""The RGB colour of each class in the VOC label pictures."""

IGNORE_LABEL = 255
"""Label value of pixels that no loss or metric counts (object borders)."""
IGNORE_COLOR = (224, 224, 192)
"""The colour VOC draws the ignore border with (palette entry 255)."""

RGB_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
"""ImageNet mean of the R, G, B channels, for pixel values in [0, 1]."""
RGB_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
"""ImageNet standard deviation of the R, G, B channels (values in [0, 1])."""

def voc_palette():
    """The 256-entry VOC palette as a (256, 3) uint8 array.

    Entry i is the colour of label value i in a VOC label PNG: the first 21
    are ``VOC_COLORMAP`` and entry 255 is the ignore colour (224, 224, 192).
    It is built from the bits of i, three at a time, as the VOC devkit does.
    """
    palette = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        c, rgb = i, [0, 0, 0]
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << (7 - bit)
            c >>= 3
        palette[i] = rgb
    return palette


# ---------------------------------------------------------------- reading --

def write_label_png(label, path):
    """Save class indices (h, w) as a VOC label: a palette PNG whose pixel
    values are the classes, shown in the VOC colours."""
    png = Image.fromarray(np.asarray(label, dtype=np.uint8), mode='P')
    png.putpalette(voc_palette().ravel().tolist())
    png.save(path)


def _fix_hint():
    return ('run d2lfcn.download_voc() for the real dataset or '
            'd2lfcn.make_sample_voc(root) for the sample one, or pass '
            'voc_dir=None to d2lfcn.load_data_voc to get one automatically')


def split_names(voc_dir, split):
    """The image names listed in ImageSets/Segmentation/<split>.txt."""
    voc_dir = Path(voc_dir)
    if not voc_dir.is_dir():
        raise FileNotFoundError(
            f'VOC folder {voc_dir} does not exist; voc_dir must be the '
            f'VOCdevkit/VOC2012 folder: {_fix_hint()}')
    split_file = voc_dir / 'ImageSets' / 'Segmentation' / f'{split}.txt'
    if not split_file.is_file():
        raise FileNotFoundError(
            f'split file {split_file} is missing; is {voc_dir} the '
            f'VOCdevkit/VOC2012 folder of a complete dataset? {_fix_hint()}')
    try:      # utf-8-sig: a byte order mark is not part of the first name
        text = split_file.read_text(encoding='utf-8-sig')
    except UnicodeDecodeError as e:
        raise ValueError(f'split file {split_file} is not UTF-8 text ({e}); '
                         f'save it as UTF-8, one image name per line') from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ValueError(f'split file {split_file} lists no images')
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f'split file {split_file} lists {name} twice; it '
                             f'would count twice in training and in the '
                             f'metrics: remove the duplicate line')
        seen.add(name)
    return names


def _file_bytes(path, what):
    if not path.is_file():
        raise FileNotFoundError(
            f'image {path} is missing although its label exists and the '
            f'split file lists it; restore the image or remove the name '
            f'from the split file' if what == 'image' else
            f'label {path} is missing for an image the split file lists; '
            f'every listed image needs a label PNG in SegmentationClass')
    return path.read_bytes()


@contextlib.contextmanager
def refuse_truncated_images():
    """Within it, PIL raises on a truncated image file instead of filling
    the missing part with grey: importing GluonCV sets PIL's global
    ImageFile.LOAD_TRUNCATED_IMAGES = True, which would let a damaged photo
    or label through silently."""
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _decode_image(data, path):
    """JPEG/PNG bytes of an RGB image -> (h, w, 3) uint8 array."""
    try:
        with refuse_truncated_images(), Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert('RGB'))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as e:
        raise ValueError(f'cannot decode image {path} ({e}); the file is '
                         f'corrupt or truncated: replace it (re-download '
                         f'or regenerate the dataset)') from None


def _decode_label(data, path, check=True):
    """Bytes of a VOC label PNG -> (h, w) uint8 class indices / 255.

    Decided by the file's mode and content: palette ('P'), 8-bit grey ('L')
    and 16-bit grey ('I;16', as OpenCV writes uint16) PNGs hold the class
    indices themselves; so does an RGB picture whose pixels are all grey
    (c, c, c) with c a class index or 255. Any other RGB picture is mapped
    colour by colour (voc_label_indices) and must hold only VOC colours.
    What fits neither reading is refused, naming the file.
    """
    try:
        with refuse_truncated_images(), Image.open(io.BytesIO(data)) as img:
            mode = img.mode
            pixels = np.array(img if mode in ('P', 'L') or mode.startswith('I')
                              else img.convert('RGB'))
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f'cannot decode label {path} ({e}); the file is '
                         f'corrupt or truncated: replace it (re-download '
                         f'or regenerate the dataset)') from None
    if pixels.ndim == 2:
        if pixels.max(initial=0) > 255 or pixels.min(initial=0) < 0:
            raise ValueError(
                f'label {path} ({mode}) holds values up to '
                f'{int(pixels.max())}: a VOC label holds class indices 0-20 '
                f'and 255 = ignore; save it as an 8-bit palette PNG')
        label = pixels.astype(np.uint8)
    else:
        label = _rgb_label(pixels, path)
    if check:
        bad = np.setdiff1d(np.unique(label), np.r_[0:len(VOC_CLASSES), 255])
        if bad.size:
            raise ValueError(
                f'label {path} has values {bad[:10].tolist()} outside 0-20 '
                f'and 255; a VOC label holds class indices (palette PNG), '
                f'255 = ignore: fix or regenerate this file')
    return label


def _rgb_label(rgb, path):
    """Class indices of an RGB label picture: grey (c, c, c) pixels holding
    indices, or VOC colours; ValueError for anything else."""
    indices = set(range(len(VOC_CLASSES))) | {IGNORE_LABEL}
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        values = set(np.unique(rgb[..., 0]).tolist())
        grey_colours = {r for r, g, b in VOC_COLORMAP if r == g == b}
        if values <= indices:
            return rgb[..., 0].copy()
        if not values <= grey_colours:
            raise ValueError(
                f'label {path} is an RGB picture of grey values '
                f'{sorted(values)[:10]}, which are neither class indices '
                f'(0-20, 255) nor VOC colours; save labels as palette PNGs '
                f'of class indices')
    label = voc_label_indices(rgb)
    unknown = (label == IGNORE_LABEL) & np.any(rgb != IGNORE_COLOR, axis=-1)
    if unknown.any():
        r, g, b = (int(v) for v in rgb[unknown][0])
        raise ValueError(
            f'label {path} has {int(unknown.sum())} pixels in colours that '
            f'are not VOC class colours, such as ({r}, {g}, {b}): an RGB '
            f'label must use exactly the VOC colours (saved as PNG: JPEG '
            f'changes colours), or save it as a palette PNG of class indices')
    return label


class EncodedImage:
    """An image or label file kept as its compressed bytes (a JPEG is about
    a tenth of the decoded pixels); decode() gives the uint8 array back.
    shape is the decoded (h, w) or (h, w, 3)."""
    __slots__ = ('data', 'shape', 'path', 'is_label')

    def __init__(self, data, shape, path, is_label):
        self.data, self.shape = data, tuple(shape)
        self.path, self.is_label = path, is_label

    def decode(self):
        if self.is_label:
            return _decode_label(self.data, self.path, check=False)
        return _decode_image(self.data, self.path)


def decoded(x):
    """x itself if it is an array, x.decode() if it is an EncodedImage."""
    return x.decode() if isinstance(x, EncodedImage) else x


def read_voc_pair(voc_dir, name, encoded=False):
    voc_dir = Path(voc_dir)
    label_path = voc_dir / 'SegmentationClass' / f'{name}.png'
    image_path = voc_dir / 'JPEGImages' / f'{name}.jpg'
    label_bytes = _file_bytes(label_path, 'label')
    image_bytes = _file_bytes(image_path, 'image')
    label = _decode_label(label_bytes, label_path)
    feature = _decode_image(image_bytes, image_path)
    if feature.shape[:2] != label.shape:
        raise ValueError(
            f'image {name}.jpg is {feature.shape[0]}x{feature.shape[1]} but '
            f'its label {name}.png is {label.shape[0]}x{label.shape[1]} '
            f'(height x width); a label must have the size of its image')
    if encoded:
        return (EncodedImage(image_bytes, feature.shape, image_path, False),
                EncodedImage(label_bytes, label.shape, label_path, True))
    return feature, label


def read_voc_images(voc_dir, is_train=True, encoded=False):
    """Read every image and label of the train (or val) split.

    Returns two lists of numpy arrays: images (h, w, 3) uint8 RGB and labels
    (h, w) uint8 class indices, 255 = ignore. encoded=True keeps the files'
    compressed bytes instead (EncodedImage objects, decode() on use).
    """
    names = split_names(voc_dir, 'train' if is_train else 'val')
    features, labels = [], []
    for name in names:
        feature, label = read_voc_pair(voc_dir, name, encoded)
        features.append(feature)
        labels.append(label)
    return features, labels


# ----------------------------------------------------------------- labels --

def voc_label_indices(colormap_image):
    """Map an RGB label picture (h, w, 3) to class indices (h, w) uint8.

    A pixel with the colour VOC_COLORMAP[i] gets label i; the border colour
    (224, 224, 192) and any colour not in the map get 255 (ignore), never 0.
    """
    rgb = as_image(colormap_image, 'colormap_image')
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'colormap_image must be an RGB picture of shape '
                         f'(h, w, 3), got shape {rgb.shape}')
    rgb = rgb.astype(np.int32)
    codes = (rgb[..., 0] * 256 + rgb[..., 1]) * 256 + rgb[..., 2]
    labels = np.full(codes.shape, IGNORE_LABEL, dtype=np.uint8)
    for index, (r, g, b) in enumerate(VOC_COLORMAP):
        labels[codes == (r * 256 + g) * 256 + b] = index
    return labels


def label_to_rgb(label):
    """Colour a label (h, w) of class indices with the VOC palette.

    Returns an (h, w, 3) uint8 picture; 255 shows as (224, 224, 192).
    """
    label = validate.as_image(label, 'label')
    return _PALETTE[np.asarray(label).astype(np.int64) & 255]


_PALETTE = voc_palette()


# ------------------------------------------------------------------ crops --

def voc_rand_crop(feature, label, height, width):
    """Crop the same random height x width window out of an image and its
    label: (h, w, 3) and (h, w) arrays in, (height, width, 3) and
    (height, width) views out."""
    h, w = check_crop(feature, label, height, width)
    top = np.random.randint(0, h - height + 1)
    left = np.random.randint(0, w - width + 1)
    return (feature[top:top + height, left:left + width],
            label[top:top + height, left:left + width])


def check_crop(feature, label, height, width):
    validate.positive_int(height, 'height')
    validate.positive_int(width, 'width')
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


def pad_to_size(feature, label, height, width):
    """Pad an image and its label at the bottom and right to at least
    height x width: the image with the ImageNet mean colour (0 once
    normalised), the label with 255 so that no loss counts the padding."""
    h, w = np.shape(label)[:2]
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
    if hasattr(feature, 'asnumpy'):
        feature = feature.asnumpy()
    x = np.asarray(feature).transpose(1, 2, 0) * RGB_STD + RGB_MEAN
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


# ---------------------------------------------------------------- datasets --

def _crop_size(crop_size):
    return validate.shape2d(tuple(crop_size) if isinstance(crop_size, list)
                            else crop_size, 'crop_size')


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

    def __init__(self, is_train, crop_size, voc_dir=None, pad=False,
                 flip=False, scale=None, keep='encoded'):
        self.crop_size, self.scale, encoded = check_dataset_args(
            crop_size, scale, keep)
        self.voc_dir = find_voc_dir(voc_dir)
        self.pad, self.flip = pad, flip
        features, labels = read_voc_images(self.voc_dir, is_train, encoded)
        kept = [i for i, label in enumerate(labels)
                if pad or self._fits(label.shape)]
        check_some_fit(kept, labels, self.crop_size)
        self.features = [features[i] for i in kept]
        self.labels = [labels[i] for i in kept]
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


def check_dataset_args(crop_size, scale, keep):
    """Checked (crop_size, scale, encoded) for VOCSegDataset."""
    return _crop_size(crop_size), _scale_range(scale), _encoded(keep)


def _encoded(keep):
    if keep not in ('encoded', 'decoded'):
        raise ValueError(f"keep must be 'encoded' (compressed bytes in "
                         f"memory) or 'decoded' (uint8 arrays), got {keep!r}")
    return keep == 'encoded'


def _scale_range(scale):
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


def check_some_fit(keep, labels, crop_size):
    if keep:
        return
    largest = max(labels, key=lambda a: a.shape[0] * a.shape[1]).shape
    raise ValueError(
        f'crop_size {crop_size} is larger than every one of the '
        f'{len(labels)} images (the largest is {largest[0]}x{largest[1]}); '
        f'use a smaller crop_size or pad=True')


class VOCWholeImages(gluon.data.Dataset):
    """Whole, uncropped images of a split, for evaluation.

    Item i is (image, label): float32 NDArrays (3, h, w), normalised, and
    (h, w) class indices with 255 = ignore, at the image's own size (batch
    them one at a time). multiple=32 pads bottom and right to a multiple of
    32 (label 255 in the padding), which an FCN with stride 32 needs to give
    back an output of the same size. keep: as in VOCSegDataset.
    """

    def __init__(self, is_train=False, voc_dir=None, multiple=1,
                 keep='encoded'):
        self.voc_dir = find_voc_dir(voc_dir)
        self.multiple = validate.positive_int(multiple, 'multiple')
        self.names = split_names(self.voc_dir, 'train' if is_train else 'val')
        self.features, self.labels = read_voc_images(
            self.voc_dir, is_train, encoded=_encoded(keep))

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


def load_data_voc(batch_size, crop_size, voc_dir=None, num_workers=0,
                  **train_options):
    """DataLoaders (train_iter, test_iter) of random crops of VOC.

    batch_size: images per batch; crop_size: (height, width) in pixels.
    voc_dir=None takes the real VOC 2012 under d2lfcn.DATA_DIR if it is
    there, else the sample dataset (generated if missing) and says which.
    train_options (pad, flip, scale) go to the training VOCSegDataset.
    Batches are (float32 (batch_size, 3, height, width), float32
    (batch_size, height, width)); incomplete last batches are dropped.
    """
    validate.positive_int(batch_size, 'batch_size')
    validate.nonnegative_int(num_workers, 'num_workers')
    crop_size = _crop_size(crop_size)
    voc_dir = find_voc_dir(voc_dir)
    train = VOCSegDataset(True, crop_size, voc_dir, **train_options)
    test = VOCSegDataset(False, crop_size, voc_dir,
                         pad=train_options.get('pad', False))
    for split, dataset in (('train', train), ('val', test)):
        if len(dataset) < batch_size:
            raise ValueError(
                f'batch_size {batch_size} is larger than the {len(dataset)} '
                f'usable {split} images; use a smaller batch_size')
    train_iter = gluon.data.DataLoader(train, batch_size, shuffle=True,
                                       last_batch='discard',
                                       num_workers=num_workers)
    test_iter = gluon.data.DataLoader(test, batch_size, shuffle=False,
                                      last_batch='discard',
                                      num_workers=num_workers)
    return train_iter, test_iter


def is_complete_voc(voc_dir):
    """True if voc_dir holds the four parts of a VOC segmentation dataset."""
    voc_dir = Path(voc_dir)
    return all((voc_dir / p).is_dir() for p in (
        'JPEGImages', 'SegmentationClass')) and all(
        (voc_dir / 'ImageSets' / 'Segmentation' / f).is_file()
        for f in ('train.txt', 'val.txt'))


def sample_voc_root():
    """Folder of the generated sample dataset: quick and default profiles
    use different folders (and sizes), so their caches never mix."""
    name = 'sample_voc_quick' if d2lfcn.QUICK else 'sample_voc'
    return Path(d2lfcn.DATA_DIR) / name


def sample_voc_sizes():
    """(num_train, num_val) of the sample dataset in this profile."""
    return (48, 24) if d2lfcn.QUICK else (400, 150)


def find_voc_dir(voc_dir=None, verbose=True):
    """The VOCdevkit/VOC2012 folder to use, as a Path.

    A given voc_dir is checked and returned. None picks the real VOC 2012
    under d2lfcn.DATA_DIR if it is complete, else the sample dataset
    (generated on first use), and prints which in one line.
    """
    if voc_dir is not None:
        voc_dir = Path(voc_dir)
        split_names(voc_dir, 'train')      # clear error if unusable
        return voc_dir
    real = Path(d2lfcn.DATA_DIR) / 'VOCdevkit' / 'VOC2012'
    if is_complete_voc(real):
        if verbose:
            print(f'Using the real Pascal VOC 2012 in {_short(real)}')
        return real
    from d2lfcn.sample_data import make_sample_voc
    num_train, num_val = sample_voc_sizes()
    sample = make_sample_voc(sample_voc_root(), num_train=num_train,
                             num_val=num_val)
    if verbose:
        print(f'Using the sample dataset in {_short(sample)} ({num_train} '
              f'train, {num_val} val images; the real VOC 2012 is not in '
              f'{_short(real)}, d2lfcn.download_voc() fetches it)')
    return sample


def _short(path):
    """path relative to the course folder if it is inside it."""
    try:
        return Path(path).resolve().relative_to(d2lfcn.ROOT)
    except ValueError:
        return path
