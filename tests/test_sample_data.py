"""The generated sample dataset: format, determinism, caching, GluonCV."""
import hashlib
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from d2lfcn import sample_data
from d2lfcn.voc import read_voc_images, voc_palette
from d2lfcn.sample_data import class_design, make_example, make_sample_voc


def digest(voc_dir):
    h = hashlib.sha1()
    for path in sorted(p for p in voc_dir.rglob('*') if p.is_file()):
        h.update(str(path.relative_to(voc_dir)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    return make_sample_voc(tmp_path_factory.mktemp('sample'), 12, 6, seed=0)


def test_layout(voc):
    assert voc.name == 'VOC2012' and voc.parent.name == 'VOCdevkit'
    splits = voc / 'ImageSets' / 'Segmentation'
    train = (splits / 'train.txt').read_text().split()
    val = (splits / 'val.txt').read_text().split()
    assert len(train) == 12 and len(val) == 6 and not set(train) & set(val)
    assert (splits / 'trainval.txt').read_text().split() == train + val
    for name in train + val:
        with Image.open(voc / 'JPEGImages' / f'{name}.jpg') as jpg:
            assert jpg.format == 'JPEG' and jpg.mode == 'RGB'
            size = jpg.size
        with Image.open(voc / 'SegmentationClass' / f'{name}.png') as png:
            assert png.format == 'PNG' and png.mode == 'P'
            assert png.size == size
            palette = np.array(png.getpalette()[:768]).reshape(256, 3)
            assert np.array_equal(palette, voc_palette())


def test_labels_like_voc(voc):
    features, labels = read_voc_images(voc)
    sizes = [f.shape[:2] for f in features]
    assert all(144 <= s <= 250 for hw in sizes for s in hw)
    assert any(h % 32 or w % 32 for h, w in sizes)
    for label in labels:
        values = set(np.unique(label))
        assert 0 in values and 255 in values          # background, border
        objects = values - {0, 255}
        assert 1 <= len(objects) <= 3 and objects <= set(range(1, 21))
        # the ignore border is thin: a small share of the picture
        assert (label == 255).mean() < 0.12


def test_sizes_spread_like_voc_at_half_scale():
    sizes = [sample_data._image_size(np.random.default_rng(i))
             for i in range(300)]
    portrait = sum(h > w for h, w in sizes)
    assert 0.05 < portrait / 300 < 0.3
    assert sum(h % 32 != 0 or w % 32 != 0 for h, w in sizes) > 250
    # every image holds a 128 x 160 training crop (chapter 5)
    assert min(h for h, w in sizes) >= 144 and min(w for h, w in sizes) >= 176
    assert max(max(s) for s in sizes) == 250


def hue_saturation(pixels):
    """Hue in degrees and saturation in [0, 1] of (n, 3) uint8 RGB pixels."""
    import cv2
    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.float32) / 255,
                       cv2.COLOR_RGB2HSV).reshape(-1, 3)
    return hsv[:, 0], hsv[:, 1]


def hue_distance(a, b):
    return np.abs((np.asarray(a) - b + 180) % 360 - 180)


def test_a_family_shares_colour_and_texture_its_classes_differ_in_shape():
    designs = [class_design(c) for c in range(1, 21)]
    families = designs[0::2]
    assert len({d.hue for d in families}) == 10
    for first, second in zip(designs[0::2], designs[1::2]):
        assert first[1:] == second[1:]                  # texture, hue
        assert first.shape != second.shape
    for k in range(9):              # neighbouring colour families differ
        assert families[k].texture != families[k + 1].texture
    assert {d.shape for d in designs} == set(sample_data.SHAPES)
    for seed in range(30):
        img, label = make_example([7, seed])
        for c in set(np.unique(label)) - {0, 255}:
            hue, sat = hue_saturation(img[label == c])
            coloured = sat > 0.3
            assert hue_distance(circular_mean(hue[coloured]),
                                class_design(c).hue) < 12


def circular_mean(degrees):
    radians = np.radians(degrees)
    return np.degrees(np.arctan2(np.sin(radians).mean(),
                                 np.cos(radians).mean())) % 360


@pytest.mark.parametrize('shape', sample_data.SHAPES)
def test_each_shape_has_its_own_outline(shape):
    """A ring has a hole; a star, a cross, a crescent and an L are far from
    convex; the others are convex, whatever the angle."""
    import cv2
    for angle in np.linspace(0, 2 * np.pi, 7):
        mask = sample_data._shape_mask(shape, 200, 200, (100, 100), 60,
                                       angle).astype(np.uint8)
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP,
                                               cv2.CHAIN_APPROX_SIMPLE)
        outer = max(contours, key=cv2.contourArea)
        solidity = cv2.contourArea(outer) / cv2.contourArea(
            cv2.convexHull(outer))
        holes = int((hierarchy[0][:, 3] >= 0).sum())
        assert holes == (shape == 'ring')
        if shape in ('star', 'cross', 'crescent', 'L-shape'):
            assert solidity < 0.8, (angle, solidity)
        elif shape != 'ring':
            assert solidity > 0.95, (angle, solidity)


def test_an_object_is_drawn_with_the_shape_of_its_class(monkeypatch):
    drawn = []
    original = sample_data._shape_mask

    def recording(kind, *args):
        drawn.append(kind)
        return original(kind, *args)

    monkeypatch.setattr(sample_data, '_shape_mask', recording)
    for seed in range(20):
        drawn.clear()
        _, label = make_example([10, seed])
        for c in set(np.unique(label)) - {0, 255}:
            assert class_design(c).shape in drawn


def test_colour_alone_does_not_tell_object_from_background():
    """The background holds plain blobs in the colours of the classes."""
    shares = []
    for seed in range(30):
        img, label = make_example([8, seed])
        hue, sat = hue_saturation(img[label == 0])
        family = np.min([hue_distance(hue, 18.0 * k) for k in range(20)],
                        axis=0)
        shares.append(np.mean((family < 5) & (sat > 0.45)))
    assert np.mean(shares) > 0.1


def test_deterministic_and_cached(tmp_path, voc):
    again = make_sample_voc(tmp_path / 'a', 12, 6, seed=0)
    assert digest(again) == digest(voc)
    marker = again / 'sample_complete.json'
    stamp = marker.stat().st_mtime_ns
    assert make_sample_voc(tmp_path / 'a', 12, 6, seed=0) == again
    assert marker.stat().st_mtime_ns == stamp     # reused, not rewritten
    other = make_sample_voc(tmp_path / 'b', 12, 6, seed=1)
    assert digest(other) != digest(voc)


def test_other_arguments_replace_only_the_generators_own_dataset(tmp_path,
                                                                  voc):
    voc_dir = make_sample_voc(tmp_path, 12, 6, seed=0)
    assert digest(voc_dir) == digest(voc)
    make_sample_voc(tmp_path, 3, 2, seed=0)
    assert len(list(voc_dir.glob('JPEGImages/*.jpg'))) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ['VOCdevkit']


@pytest.mark.parametrize('layout', [
    {'VOC2007/JPEGImages/a.jpg': b'a real VOC 2007'},
    {'VOC2012/JPEGImages/a.jpg': b'a real VOC 2012, no marker'},
    {'VOC2012/JPEGImages/a.jpg': b'x', 'notes.txt': b'the user\'s own'}])
def test_never_deletes_what_it_did_not_write(tmp_path, layout):
    for name, payload in layout.items():
        (tmp_path / 'VOCdevkit' / name).parent.mkdir(parents=True,
                                                     exist_ok=True)
        (tmp_path / 'VOCdevkit' / name).write_bytes(payload)
    with pytest.raises(FileExistsError, match='did not write.*Nothing was '
                                              'changed'):
        make_sample_voc(tmp_path, 2, 2)
    for name, payload in layout.items():
        assert (tmp_path / 'VOCdevkit' / name).read_bytes() == payload
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.tmp')]


def test_a_user_file_next_to_an_old_sample_dataset_is_kept(tmp_path):
    make_sample_voc(tmp_path, 3, 2, seed=0)
    (tmp_path / 'VOCdevkit' / 'mine.txt').write_text('keep me')
    with pytest.raises(FileExistsError):
        make_sample_voc(tmp_path, 2, 2, seed=0)
    assert (tmp_path / 'VOCdevkit' / 'mine.txt').read_text() == 'keep me'


def test_a_complete_dataset_of_another_process_is_never_replaced(
        tmp_path, monkeypatch):
    """B starts while A is still writing the same dataset; A finishes first
    (and its caller reads it). B must keep A's copy, not swap in its own."""
    write = sample_data._write_dataset
    calls = []

    def slow_write(*args):
        write(*args)
        if not calls:                   # B, before renaming: A finishes
            calls.append('A')
            make_sample_voc(tmp_path, 2, 2, seed=0)
    monkeypatch.setattr(sample_data, '_write_dataset', slow_write)
    marker = tmp_path / 'VOCdevkit' / 'VOC2012' / 'sample_complete.json'
    make_sample_voc(tmp_path, 2, 2, seed=0)
    assert calls == ['A']
    inode = marker.stat().st_ino
    assert make_sample_voc(tmp_path, 2, 2, seed=0).exists()
    assert marker.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ['VOCdevkit']


def test_stale_temporary_folders_are_removed(tmp_path):
    dead = tmp_path / '.tmp-999999999-1'        # no process has this pid
    (dead / 'VOC2012').mkdir(parents=True)
    live = tmp_path / f'.tmp-{os.getpid()}-1'   # a live run: kept
    live.mkdir()
    make_sample_voc(tmp_path, 2, 2)
    assert not dead.exists() and live.exists()


def test_interrupted_generation_leaves_no_dataset(tmp_path, monkeypatch):
    def boom(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(sample_data, 'make_example', boom)
    with pytest.raises(KeyboardInterrupt):
        make_sample_voc(tmp_path, 2, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('kwargs', [{'num_train': 0}, {'num_val': -1},
                                    {'seed': -3}])
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        make_sample_voc(tmp_path, **kwargs)


def test_gluoncv_reads_it_identically(voc):
    """GluonCV's VOCSegmentation reads the sample dataset unchanged and
    gives the same images and masks as read_voc_images."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from gluoncv.data import VOCSegmentation
    features, labels = read_voc_images(voc, is_train=False)
    gcv = VOCSegmentation(root=str(voc.parent), split='val', mode='testval')
    assert len(gcv) == len(labels) == 6
    for i in range(len(gcv)):
        img, mask = gcv[i]
        mask = mask.asnumpy()
        # GluonCV marks ignored pixels -1 where VOC files store 255
        assert np.array_equal(np.where(mask == -1, 255, mask), labels[i])
        assert np.array_equal(img.asnumpy(), features[i])
    # its 'train' split is VOC's trainval.txt: 18 images
    assert len(VOCSegmentation(root=str(voc.parent), split='train')) == 18
