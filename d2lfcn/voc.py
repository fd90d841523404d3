"""The Pascal VOC 2012 segmentation format: classes, colours, label files.

The real Pascal VOC 2012 (``d2lfcn.download``) and the generated sample
dataset (``d2lfcn.sample_data``) share this layout::

    VOCdevkit/VOC2012/JPEGImages/<name>.jpg         RGB photos
    VOCdevkit/VOC2012/SegmentationClass/<name>.png  palette PNGs, value=class
    VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt

Labels are (h, w) uint8 arrays of class indices 0-20; 255 marks pixels to
ignore (the thin border VOC draws around every object, padding). This module
reads and writes that format; crops and datasets are in ``d2lfcn.data``.
"""
# Taught in notebooks/03_semantic_segmentation_data.ipynb (VOC_CLASSES,
# VOC_COLORMAP, voc_label_indices, read_voc_images): edit there, then run
# python tools/sync_code.py. Not written out in a notebook: IGNORE_LABEL,
# IGNORE_COLOR, voc_palette, write_label_png, split_names,
# refuse_truncated_images, photo_pixels, EncodedImage, decoded,
# EXIF_ORIENTATION, read_voc_pair, label_to_rgb, is_complete_voc,
# checked_voc_dir.
import contextlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

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
            'd2lfcn.make_sample_voc(root) for the sample one, or let '
            'd2lfcn.find_voc_dir() pick one')


def split_names(voc_dir, split):
    """The image names listed in ImageSets/Segmentation/<split>.txt."""
    voc_dir = checked_voc_dir(voc_dir)
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


def photo_pixels(img, path):
    """An opened PIL image as (h, w, 3) uint8 RGB pixels. Grey images deeper
    than 8 bits keep their picture: 16-bit ones (and 32-bit integer ones
    with values above 255) are scaled from 0-65535, float ones from 0-1 (or
    taken as they are if they lie in 0-255); a float image outside both
    ranges is refused, naming path. Everything else PIL converts."""
    if not (img.mode.startswith('I') or img.mode == 'F'):
        return np.asarray(img.convert('RGB'))
    grey = np.asarray(img, dtype=np.float64)
    low, high = grey.min(initial=0), grey.max(initial=0)
    if img.mode == 'F':
        if not np.isfinite(grey).all() or low < 0 or high > 255:
            raise ValueError(f'photo {path} is a float image with values '
                             f'from {low:g} to {high:g}; only 0-1 or 0-255 '
                             f'read as brightness: save it as an 8-bit image')
        grey = grey * 255 if high <= 1 else grey
    elif img.mode.startswith('I;16') or high > 255:
        if low < 0 or high > 65535:
            raise ValueError(f'photo {path} is a 32-bit image with values '
                             f'from {low:g} to {high:g}: save it as an 8-bit '
                             f'or 16-bit image')
        grey = grey * (255 / 65535)
    return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)


def _decode_image(data, path):
    """JPEG/PNG bytes of an RGB image -> (h, w, 3) uint8 array."""
    try:
        with refuse_truncated_images(), Image.open(io.BytesIO(data)) as img:
            return photo_pixels(img, path)
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
            # mode '1' (a boolean mask) holds classes 0 and 1, not 0 and 255
            pixels = np.array(img if mode in ('P', 'L', '1') or
                              mode.startswith('I') else img.convert('RGB'))
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


EXIF_ORIENTATION = 0x0112
"""The EXIF tag that tells viewers to turn or mirror a photo (1: as stored;
5-8: turned by a quarter, so shown with height and width swapped)."""


def _turned_hint(image_bytes, image_shape, label_shape):
    """Why an image and its label may differ in size: the photo's EXIF
    orientation, which viewers apply and this reader (like VOC's) does not.
    '' when the photo has none."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as img:
            orientation = img.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:
        return ''
    if orientation not in (5, 6, 7, 8):     # a quarter turn: h, w swapped
        return ''
    shown = image_shape[:2][::-1]
    match = ('; turned so, it has the size of its label, which was probably '
             'drawn on the photo as shown' if tuple(shown) == label_shape
             else '')
    return (f'. The photo carries EXIF orientation {orientation}: viewers '
            f'show it turned ({shown[0]}x{shown[1]}), but its stored pixels '
            f'are read, as VOC\'s tools do{match}. Save the photo with its '
            f'turn applied (PIL: ImageOps.exif_transpose(img).save(...)), '
            f'then check that its label lies on it')


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
            f'(height x width); a label must have the size of its image'
            f'{_turned_hint(image_bytes, feature.shape, label.shape)}')
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
    label = np.asarray(validate.as_image(label, 'label'))
    wrong = ~np.isfinite(label) | (label != np.round(label)) | (label < 0) | \
        (label > 255)
    if wrong.any():
        where = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise ValueError(f'label must hold class indices 0-255 (255 = '
                         f'ignore), got {label[where]!r} at {where}')
    return _PALETTE[label.astype(np.int64)]


_PALETTE = voc_palette()


def is_complete_voc(voc_dir):
    """True if voc_dir holds the four parts of a VOC segmentation dataset."""
    voc_dir = Path(voc_dir)
    return all((voc_dir / p).is_dir() for p in (
        'JPEGImages', 'SegmentationClass')) and all(
        (voc_dir / 'ImageSets' / 'Segmentation' / f).is_file()
        for f in ('train.txt', 'val.txt'))


def checked_voc_dir(voc_dir):
    """voc_dir as a Path, after checking that it is a folder (a clear error
    naming the fix if not). The split files are checked when they are read
    (split_names), once."""
    if voc_dir is None:
        raise ValueError('voc_dir is None: pass the VOCdevkit/VOC2012 folder '
                         'to read, e.g. voc_dir = d2lfcn.find_voc_dir()')
    voc_dir = Path(voc_dir)
    if not voc_dir.is_dir():
        raise FileNotFoundError(
            f'VOC folder {voc_dir} does not exist; voc_dir must be the '
            f'VOCdevkit/VOC2012 folder: {_fix_hint()}')
    return voc_dir
