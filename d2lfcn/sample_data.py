"""A generated segmentation dataset in exactly the Pascal VOC 2012 format.

``make_sample_voc(root)`` draws pictures of objects of the 20 VOC classes
and writes them as VOC does (JPEG photos, palette PNG labels, split files),
so every chapter runs offline and the same code reads the real VOC.

The 20 classes are ten colour families of two classes, as a cat and a
dog share fur: a family is a texture (stripes or checks) in a light and a
dark shade of its colour, and its two classes differ only in their shape
(class_design). What a small window of an object shows names its family;
only the outline of the whole object names its class, which is what a deep
network's large receptive field is for. Colour alone names neither: the
cluttered backgrounds (gradients, noise, patches of real photos) hold plain
blobs in the colours of the classes. Objects stand upright (turned by at
most 11 degrees), as in photos. Images are about half of VOC's size (about
190 x 250); 1-3 objects overlap in each, and each object gets VOC's thin
ignore border (255).
"""
import json
import os
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from d2lfcn import locations, validate
from d2lfcn.sample_marker import is_sample_voc  # noqa: F401 (its API)
from d2lfcn.sample_marker import (MARKER, file_digests, marker_params,
                                  refuse_foreign, remove_stale_tmp)
from d2lfcn.voc import IGNORE_LABEL, write_label_png

SHAPES = ('ellipse', 'rectangle', 'triangle', 'diamond', 'star', 'ring',
          'cross', 'hexagon', 'crescent', 'L-shape')
TEXTURES = ('stripes', 'checks')


class ClassDesign(NamedTuple):
    """How the objects of one class are drawn."""
    shape: str          # one of SHAPES
    texture: str        # one of TEXTURES
    hue: float          # of its colour family, in degrees


PHOTOS = ('grace_hopper.jpg', 'coffee.jpg', 'rocket.jpg',
          'gravel.jpg')
"""Photos in the course's img/ folder whose patches go into backgrounds (a
fixed list, so new pictures in img/ do not change the dataset)."""

SAMPLE_FOLDER = 'sample_voc'
SAMPLE_NUM_TRAIN, SAMPLE_NUM_VAL = 400, 150
"""The sample dataset of the course: DATA_DIR/sample_voc, with 400 train
and 150 val images."""

FORMAT_VERSION = 4


def class_design(c):
    """The ClassDesign of class index c in 1-20.

    The 20 classes are ten colour families of two classes each, as a cat
    and a dog share fur: family k = (c - 1) // 2 has the hue 36 k degrees
    and stripes (even k) or checks (odd k), and its two classes differ only
    in their shape, SHAPES[2 (k % 5)] for the first and SHAPES[2 (k % 5) + 1]
    for the second. A window that sees a patch of an object learns its
    family, not its class: the class is decided by the outline of the
    whole object."""
    k, member = divmod(c - 1, 2)
    return ClassDesign(SHAPES[2 * (k % 5) + member], TEXTURES[k % 2],
                       36.0 * k)


def _polygon(kind):
    """Outline of a shape as (n, 2) points (x, y) in about [-1, 1]^2."""
    t = np.linspace(0, 2 * np.pi, 7)[:-1]
    if kind == 'rectangle':
        return np.array([[-1, -.6], [1, -.6], [1, .6], [-1, .6]])
    if kind == 'triangle':
        return np.array([[0, -1], [1, .8], [-1, .8]])
    if kind == 'diamond':
        return np.array([[0, -1], [.65, 0], [0, 1], [-.65, 0]])
    if kind == 'star':
        a = np.linspace(0, 2 * np.pi, 11)[:-1] - np.pi / 2
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        return np.stack([r * np.cos(a), r * np.sin(a)], 1)
    if kind == 'cross':
        w = .32
        return np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w],
                         [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w],
                         [-w, -w]])
    if kind == 'hexagon':
        return np.stack([np.cos(t), np.sin(t)], 1)
    if kind == 'L-shape':
        return np.array([[-.8, -1], [-.2, -1], [-.2, .4], [.9, .4], [.9, 1],
                         [-.8, 1]])
    raise KeyError(kind)


def _shape_mask(kind, h, w, center, size, angle):
    """A boolean (h, w) mask of one shape: center (x, y) and size (half
    extent) in pixels, angle in radians."""
    mask = np.zeros((h, w), np.uint8)
    cx, cy = center
    if kind in ('ellipse', 'ring', 'crescent'):
        axes = (int(size), int(size * (0.6 if kind == 'ellipse' else 1)))
        deg = np.degrees(angle)
        cv2.ellipse(mask, (int(cx), int(cy)), axes, deg, 0, 360, 1, -1)
        if kind == 'ring':
            inner = (int(size * .5), int(size * .5))
            cv2.ellipse(mask, (int(cx), int(cy)), inner, 0, 0, 360, 0, -1)
        elif kind == 'crescent':
            off = (int(cx + .45 * size * np.cos(angle)),
                   int(cy + .45 * size * np.sin(angle)))
            cv2.circle(mask, off, int(size * .8), 0, -1)
        return mask.astype(bool)
    pts = _polygon(kind)
    rot = np.array([[np.cos(angle), -np.sin(angle)],
                    [np.sin(angle), np.cos(angle)]])
    pts = pts @ rot.T * size + np.array([cx, cy])
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def _hsv_to_rgb(hue, sat, val):
    """RGB in [0, 255] (float32, shape (3,)) of a hue in degrees and a
    saturation and value in [0, 1]."""
    hsv = np.array([[[hue % 360, sat, val]]], np.float32)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] * 255


def _class_colours(hue, rng):
    """A light and a dark shade of one colour family (hue +- 4 degrees)."""
    h = hue + rng.uniform(-4, 4)
    light = _hsv_to_rgb(h, rng.uniform(0.45, 0.8), rng.uniform(0.8, 1.0))
    dark = _hsv_to_rgb(h, rng.uniform(0.7, 1.0), rng.uniform(0.3, 0.55))
    return light, dark


def _texture(kind, mask, colours, rng):
    """Texture values (n, 3) float32 for the n pixels of a boolean mask:
    stripes or checks of two colours, random angle and period."""
    c1, c2 = colours
    yy, xx = np.nonzero(mask)
    a = rng.uniform(0, np.pi)
    u = xx * np.cos(a) + yy * np.sin(a)
    v = -xx * np.sin(a) + yy * np.cos(a)
    period = rng.uniform(6, 11)
    if kind == 'stripes':
        on = (u // (period / 2)) % 2 == 0
    else:                                           # checks
        on = ((u // period) + (v // period)) % 2 == 0
    return np.where(on[:, None], c1, c2).astype(np.float32)


def _background(h, w, rng, photos, hues):
    """A cluttered (h, w, 3) float background: a colour gradient, often a
    patch of a real photo, plain blobs and lines of any colour. Nothing in
    it is striped or checked; most blobs have the colours of a class (often
    of a class in the same image: `hues`, in degrees), so that colour alone
    does not tell an object from the background."""
    a = rng.uniform(0, 2 * np.pi)
    ramp = (np.arange(w, dtype=np.float32)[None, :] * np.cos(a)
            + np.arange(h, dtype=np.float32)[:, None] * np.sin(a))
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1)
    c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = (c1 + ramp[..., None] * (c2 - c1)).astype(np.float32)
    if photos and rng.random() < 0.7:               # a patch of a real photo
        photo = photos[rng.integers(len(photos))]
        ph, pw = rng.integers(h // 3, h + 1), rng.integers(w // 3, w + 1)
        scale = rng.uniform(0.3, 1.0)
        sh = max(1, int(min(photo.shape[0], ph / scale)))
        sw = max(1, int(min(photo.shape[1], pw / scale)))
        top = rng.integers(0, photo.shape[0] - sh + 1)
        left = rng.integers(0, photo.shape[1] - sw + 1)
        patch = cv2.resize(photo[top:top + sh, left:left + sw], (pw, ph))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        y0, x0 = rng.integers(0, h - ph + 1), rng.integers(0, w - pw + 1)
        img[y0:y0 + ph, x0:x0 + pw] = patch
    for _ in range(rng.integers(3, 8)):             # distractor blobs
        n = rng.integers(3, 8)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.1, 0.35) * min(h, w)
        pts = np.stack([cx + rng.uniform(-r, r, n),
                        cy + rng.uniform(-r, r, n)], 1)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [cv2.convexHull(pts.astype(np.int32))], 1)
        # plain, in any colour or in a class's colour: colour alone is no
        # class cue, only colour together with texture (and shape) is
        kind = rng.random()
        if kind < 0.25:
            colour = rng.uniform(0, 255, 3)
        else:                   # a shade of the image's objects or any class
            hue = (rng.choice(hues) if kind < 0.6 and hues
                   else class_design(1 + int(rng.integers(20))).hue)
            colour = _class_colours(hue, rng)[rng.integers(2)]
        img[mask.astype(bool)] = colour
    for _ in range(rng.integers(0, 4)):             # lines
        p1 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        p2 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.line(img, p1, p2, rng.uniform(0, 255, 3).tolist(),
                 int(rng.integers(1, 5)))
    return img


def _image_size(rng):
    """(h, w) spread like VOC's at about half its scale: mostly landscape
    about 250 wide, some portrait; many sides not multiples of 32; none
    smaller than 144x176."""
    if rng.random() < 0.85:
        w = 250 if rng.random() < 0.8 else int(rng.integers(210, 250))
        return int(rng.integers(150, 201)), w
    return 250, int(rng.integers(176, 201))


def make_example(seed, photos=()):
    """One generated example: image (h, w, 3) uint8 and label (h, w) uint8
    (class indices 1-20 on background 0, ignore borders 255)."""
    rng = np.random.default_rng(seed)
    h, w = _image_size(rng)
    num_objects = rng.choice([1, 2, 3], p=[.4, .35, .25])
    chosen = [int(c) for c in rng.integers(1, 21, num_objects)]
    img = _background(h, w, rng, photos, [class_design(c).hue for c in chosen])
    instances = np.zeros((h, w), np.int32)      # 0 = background, k = object k
    classes = [0]
    for c in chosen:
        design = class_design(c)
        size = rng.uniform(0.2, 0.38) * min(h, w)
        center = (rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h)
        angle = rng.uniform(-0.2, 0.2)             # upright, as in photos
        mask = _shape_mask(design.shape, h, w, center, size, angle)
        if not mask.any():
            continue
        shade = rng.uniform(0.85, 1.1) + 0.2 * (
            np.nonzero(mask)[0] / h - 0.5)        # lit from above
        colours = _class_colours(design.hue, rng)
        img[mask] = _texture(design.texture, mask, colours, rng) \
            * shade[:, None]
        instances[mask] = len(classes)
        classes.append(c)
    label = np.array(classes, np.uint8)[instances]
    # VOC's ignore border: pixels within about 2 px of an object outline.
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    inst = instances.astype(np.float32)
    border = cv2.dilate(inst, kernel) != cv2.erode(inst, kernel)
    label[border] = IGNORE_LABEL
    img += rng.standard_normal(img.shape, np.float32) * rng.uniform(2, 8)
    return np.clip(img, 0, 255).round().astype(np.uint8), label


def _load_photos():
    photos = []
    for name in PHOTOS:
        path = Path(locations.IMG_DIR) / name
        if path.is_file():
            with Image.open(path) as p:
                photos.append(np.asarray(p.convert('RGB')).astype(np.float32))
    return photos


def _write_dataset(voc_dir, num_train, num_val, seed):
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        (voc_dir / sub).mkdir(parents=True)
    photos = _load_photos()
    names = [f'sample_{i:06d}' for i in range(num_train + num_val)]
    for i, name in enumerate(names):
        img, label = make_example([seed, i], photos)
        Image.fromarray(img).save(voc_dir / 'JPEGImages' / f'{name}.jpg',
                                  quality=90)
        write_label_png(label, voc_dir / 'SegmentationClass' / f'{name}.png')
    splits = {'train': names[:num_train], 'val': names[num_train:],
              'trainval': names}
    for split, listed in splits.items():
        (voc_dir / 'ImageSets' / 'Segmentation' / f'{split}.txt').write_text(
            ''.join(n + '\n' for n in listed))


def make_sample_voc(root=None, num_train=SAMPLE_NUM_TRAIN,
                    num_val=SAMPLE_NUM_VAL, seed=0):
    """Generate (or reuse) the sample dataset under root; return its
    root/VOCdevkit/VOC2012 folder as a Path.

    Deterministic for given (num_train, num_val, seed): a complete dataset
    made with the same arguments is reused and never replaced; one made by
    this function with other arguments is replaced. Anything else in
    root/VOCdevkit (a real VOC, the user's files, a file added to or edited
    in a sample dataset) is never touched: FileExistsError. The files are
    written to a temporary folder that is renamed into place at the end,
    and a marker file written last says the dataset is complete; temporary
    folders of killed runs are removed.
    """
    validate.positive_int(num_train, 'num_train')
    validate.positive_int(num_val, 'num_val')
    validate.nonnegative_int(seed, 'seed')
    default_root = locations.DATA_DIR / SAMPLE_FOLDER
    root = Path(locations.checked_data_dir(write=False) / SAMPLE_FOLDER
                if root is None else root)
    devkit = root / 'VOCdevkit'
    voc_dir = devkit / 'VOC2012'
    params = {'format': FORMAT_VERSION, 'num_train': num_train,
              'num_val': num_val, 'seed': seed, 'photos': list(PHOTOS)}
    marker = voc_dir / MARKER
    if marker_params(marker) == params:
        return voc_dir
    if devkit.exists():
        refuse_foreign(devkit, marker, default_root)
    if root.parent == Path(locations.DATA_DIR):    # named as D2LFCN_DATA
        locations.checked_data_dir()
    locations.checked_data_dir(root, name='root')  # made, and writable
    remove_stale_tmp(root)
    tmp = root / f'.tmp-{os.getpid()}-{time.time_ns()}'
    try:
        _write_dataset(tmp / 'VOC2012', num_train, num_val, seed)
        files = file_digests(tmp / 'VOC2012')
        (tmp / 'VOC2012' / MARKER).write_text(
            json.dumps({**params, 'files': files}))
        if marker_params(marker) == params:  # another process was faster
            return voc_dir
        old = root / f'.old-{os.getpid()}-{time.time_ns()}'
        if devkit.exists():
            # ours, with other parameters (and nothing of the user's in it)
            refuse_foreign(devkit, marker, default_root)
            os.replace(devkit, old)
        try:
            os.replace(tmp, devkit)
        except OSError:
            if marker_params(marker) != params:
                raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return voc_dir
