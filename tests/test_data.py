"""The VOC format (d2lfcn.voc), crops, datasets and loaders (d2lfcn.data)
and the choice of dataset (d2lfcn.find_data)."""
import re
import shutil

import numpy as np
import pytest
from mxnet import gluon
from PIL import Image

import d2lfcn
from d2lfcn import data, find_data, locations, sample_data, voc as voc_format
from d2lfcn.data import (VOCSegDataset, VOCWholeImages, load_data_voc,
                         normalize_image, denormalize_image, pad_to_size,
                         random_scale, voc_rand_crop)
from d2lfcn.find_data import find_voc_dir
from d2lfcn.sample_data import make_sample_voc
from d2lfcn.voc import (VOC_CLASSES, VOC_COLORMAP, label_to_rgb,
                        read_voc_images, voc_label_indices, voc_palette)

CROP = (128, 160)


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    """A tiny sample dataset: 10 train and 6 val images."""
    return make_sample_voc(tmp_path_factory.mktemp('voc'), 10, 6, seed=3)


@pytest.fixture
def voc_copy(voc, tmp_path):
    """A private copy of the tiny dataset, to damage."""
    dest = tmp_path / 'VOC2012'
    shutil.copytree(voc, dest)
    return dest


def first_name(voc_dir, split='train'):
    path = voc_dir / 'ImageSets' / 'Segmentation' / f'{split}.txt'
    return path.read_text().split()[0]


# ------------------------------------------------------------------ labels

def test_classes_and_colormap():
    assert len(VOC_CLASSES) == len(VOC_COLORMAP) == 21
    palette = voc_palette()
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    assert palette[:21].tolist() == VOC_COLORMAP
    assert tuple(palette[255]) == (224, 224, 192)


def test_voc_label_indices_maps_colours_and_ignores_unknown():
    rgb = np.array([[VOC_COLORMAP[0], VOC_COLORMAP[15], [224, 224, 192]],
                    [VOC_COLORMAP[20], [1, 2, 3], VOC_COLORMAP[7]]],
                   dtype=np.uint8)
    labels = voc_label_indices(rgb)
    assert labels.dtype == np.uint8
    assert labels.tolist() == [[0, 15, 255], [20, 255, 7]]


def test_voc_label_indices_accepts_ndarray_and_rejects_grey():
    from mxnet import nd
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = VOC_COLORMAP[3]
    assert voc_label_indices(nd.array(rgb, dtype='uint8'))[0, 0] == 3
    with pytest.raises(ValueError, match='colormap_image'):
        voc_label_indices(np.zeros((4, 4), np.uint8))


def test_label_to_rgb_round_trip():
    label = np.array([[0, 1, 255], [20, 5, 7]], np.uint8)
    assert np.array_equal(voc_label_indices(label_to_rgb(label)), label)


def test_palette_indices_equal_rgb_mapping(voc):
    """Reading the PNG's indices and mapping its RGB colours agree."""
    name = first_name(voc)
    path = voc / 'SegmentationClass' / f'{name}.png'
    with Image.open(path) as png:
        assert png.mode == 'P'
        direct = np.array(png)
        mapped = voc_label_indices(np.asarray(png.convert('RGB')))
    assert np.array_equal(direct, mapped)
    assert 255 in direct and direct.max() == 255


# ----------------------------------------------------------------- reading

def test_read_voc_images(voc):
    features, labels = read_voc_images(voc, is_train=True)
    assert len(features) == len(labels) == 10
    for f, l in zip(features, labels):
        assert f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3
        assert l.dtype == np.uint8 and l.shape == f.shape[:2]
        assert set(np.unique(l)) <= set(range(21)) | {255}
    val_features, _ = read_voc_images(str(voc), is_train=False)
    assert len(val_features) == 6


def test_read_rgb_label_png(voc_copy):
    """An RGB label picture (as some tools save them) is mapped to indices."""
    name = first_name(voc_copy)
    path = voc_copy / 'SegmentationClass' / f'{name}.png'
    with Image.open(path) as png:
        expected = np.array(png)
        png.convert('RGB').save(path)
    _, labels = read_voc_images(voc_copy)
    assert np.array_equal(labels[0], expected)


@pytest.mark.parametrize('save_as', ['grey RGB', 'I;16'])
def test_labels_holding_indices_in_other_modes_are_read_as_indices(
        voc_copy, save_as):
    """Grey (c, c, c) RGB pixels and 16-bit grey PNGs (what OpenCV writes
    for uint16) hold the class index itself; before, every object pixel
    became 255 without a word."""
    name = first_name(voc_copy)
    path = voc_copy / 'SegmentationClass' / f'{name}.png'
    with Image.open(path) as png:
        expected = np.array(png)
    assert set(np.unique(expected)) - {0, 255}        # it has objects
    if save_as == 'grey RGB':
        Image.fromarray(np.dstack([expected] * 3)).save(path)
    else:
        Image.fromarray(expected.astype(np.uint16)).save(path)
        with Image.open(path) as png:
            assert png.mode.startswith('I')
    _, labels = read_voc_images(voc_copy)
    assert np.array_equal(labels[0], expected)


@pytest.mark.parametrize('pixels, words', [
    ([[10, 10, 10], [128, 128, 128]], 'neither class indices'),
    ([[1, 2, 3], [0, 0, 0]], 'not VOC class colours, such as (1, 2, 3)'),
    ([[300, 300, 300]], None)])
def test_labels_that_fit_no_reading_are_refused(voc_copy, pixels, words):
    name = first_name(voc_copy)
    path = voc_copy / 'SegmentationClass' / f'{name}.png'
    with Image.open(path) as png:
        h, w = png.size[1], png.size[0]
    if words is None:       # a 16-bit grey label with a value above 255
        Image.fromarray(np.full((h, w), 300, np.uint16)).save(path)
        words = 'holds values up to 300'
    else:
        rgb = np.zeros((h, w, 3), np.uint8)
        rgb[0, :len(pixels)] = pixels
        Image.fromarray(rgb).save(path)
    with pytest.raises(ValueError, match=re.escape(words)):
        read_voc_images(voc_copy)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='does not exist.*download_voc'):
        read_voc_images(tmp_path / 'nowhere')


def test_missing_split_file(voc_copy):
    (voc_copy / 'ImageSets' / 'Segmentation' / 'val.txt').unlink()
    with pytest.raises(FileNotFoundError, match='val.txt'):
        read_voc_images(voc_copy, is_train=False)


def test_image_without_label(voc_copy):
    name = first_name(voc_copy)
    (voc_copy / 'SegmentationClass' / f'{name}.png').unlink()
    with pytest.raises(FileNotFoundError, match=f'label .*{name}.png'):
        read_voc_images(voc_copy)


def test_label_without_image(voc_copy):
    name = first_name(voc_copy)
    (voc_copy / 'JPEGImages' / f'{name}.jpg').unlink()
    with pytest.raises(FileNotFoundError, match=f'image .*{name}.jpg'):
        read_voc_images(voc_copy)


@pytest.mark.parametrize('kind', ['truncated', 'garbage'])
def test_corrupt_jpeg(voc_copy, kind):
    name = first_name(voc_copy)
    path = voc_copy / 'JPEGImages' / f'{name}.jpg'
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2] if kind == 'truncated'
                     else b'not a jpeg at all')
    with pytest.raises(ValueError, match=f'{name}.jpg.*corrupt'):
        read_voc_images(voc_copy)


def test_corrupt_png(voc_copy):
    name = first_name(voc_copy)
    path = voc_copy / 'SegmentationClass' / f'{name}.png'
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=f'{name}.png.*corrupt'):
        read_voc_images(voc_copy)


def test_label_size_differs(voc_copy):
    name = first_name(voc_copy)
    path = voc_copy / 'SegmentationClass' / f'{name}.png'
    with Image.open(path) as png:
        png.crop((0, 0, 50, 40)).save(path)
    with pytest.raises(ValueError, match=f'{name}.jpg is .* but its label'):
        read_voc_images(voc_copy)


def test_label_values_out_of_range(voc_copy):
    name = first_name(voc_copy)
    path = voc_copy / 'SegmentationClass' / f'{name}.png'
    with Image.open(path) as png:
        label = np.array(png)
        label[0, :3] = 42
        out = Image.fromarray(label, mode='P')
        out.putpalette(png.getpalette())
    out.save(path)
    with pytest.raises(ValueError, match=r'values \[42\] outside 0-20'):
        read_voc_images(voc_copy)


# ------------------------------------------------------------------- crops

def test_voc_rand_crop_same_window():
    np.random.seed(0)
    feature = np.arange(6 * 8 * 3, dtype=np.int64).reshape(6, 8, 3) % 251
    feature = feature.astype(np.uint8)
    label = feature[..., 0].copy()
    for _ in range(20):
        f, l = voc_rand_crop(feature, label, 3, 5)
        assert f.shape == (3, 5, 3) and l.shape == (3, 5)
        assert np.array_equal(f[..., 0], l)
    f, l = voc_rand_crop(feature, label, 6, 8)
    assert np.array_equal(f, feature)


def test_voc_rand_crop_errors():
    f, l = np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), np.uint8)
    with pytest.raises(ValueError, match='cannot crop 5x5 out of a 4x5'):
        voc_rand_crop(f, l, 5, 5)
    with pytest.raises(ValueError, match='height'):
        voc_rand_crop(f, l, 0, 5)
    with pytest.raises(ValueError, match='same size'):
        voc_rand_crop(f, l[:3], 2, 2)


def test_pad_to_size():
    f = np.full((2, 3, 3), 7, np.uint8)
    l = np.ones((2, 3), np.uint8)
    pf, pl = pad_to_size(f, l, 4, 5)
    assert pf.shape == (4, 5, 3) and pl.shape == (4, 5)
    assert (pl[2:] == 255).all() and (pl[:, 3:] == 255).all()
    assert (pl[:2, :3] == 1).all() and (pf[:2, :3] == 7).all()
    # the padding is the mean colour: about 0 once normalised
    assert np.abs(normalize_image(pf)[:, 3, 4].asnumpy()).max() < 0.02
    assert pad_to_size(f, l, 2, 3)[0] is f


def test_random_scale_keeps_labels():
    np.random.seed(1)
    l = np.zeros((20, 30), np.uint8)
    l[5:15, 5:25] = 12
    l[4] = 255
    f = np.zeros((20, 30, 3), np.uint8)
    sf, sl = random_scale(f, l, 1.5, 1.5)
    assert sf.shape == (30, 45, 3) and sl.shape == (30, 45)
    assert set(np.unique(sl)) == {0, 12, 255}


def test_normalize_and_back():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = normalize_image(img)
    assert x.shape == (3, 5, 7) and x.dtype == np.float32
    expected = (img / 255.0 - data.RGB_MEAN) / data.RGB_STD
    assert np.allclose(x.asnumpy(), expected.transpose(2, 0, 1), atol=1e-5)
    assert np.array_equal(denormalize_image(x), img)


# ---------------------------------------------------------------- datasets

def test_dataset_items_and_filter(voc):
    features, _ = read_voc_images(voc)
    fits = sum(f.shape[0] >= 160 and f.shape[1] >= 240 for f in features)
    assert 0 < fits < 10             # some are filtered, some are kept
    ds = VOCSegDataset(True, (160, 240), voc)
    assert len(ds) == fits and ds.num_filtered == 10 - fits
    ds = VOCSegDataset(True, CROP, voc)
    assert len(ds) == 10 and ds.num_filtered == 0
    x, y = ds[0]
    assert x.shape == (3,) + CROP and x.dtype == np.float32
    assert y.shape == CROP and y.dtype == np.float32
    assert set(np.unique(y.asnumpy())) <= set(range(21)) | {255}
    # images stay uint8 in memory
    assert all(f.decode().dtype == np.uint8 for f in ds.features)
    arrays = VOCSegDataset(True, CROP, voc, keep="decoded")
    assert all(f.dtype == np.uint8 for f in arrays.features)
    np.random.seed(5)
    a = arrays[3]
    np.random.seed(5)
    b = ds[3]
    assert all(np.array_equal(u.asnumpy(), v.asnumpy()) for u, v in zip(a, b))
    with pytest.raises(ValueError, match="keep"):
        VOCSegDataset(True, CROP, voc, keep="float")


def test_dataset_pad_flip_scale(voc):
    np.random.seed(0)
    ds = VOCSegDataset(True, (480, 560), voc, pad=True, flip=True,
                       scale=(0.5, 1.5))
    assert len(ds) == 10 and ds.num_filtered == 0
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (3, 480, 560) and y.shape == (480, 560)
    assert (y.asnumpy() == 255).any()        # padding is ignored


def test_flip_is_joint(voc, monkeypatch):
    ds = VOCSegDataset(True, CROP, voc, flip=True)
    monkeypatch.setattr(data, 'voc_rand_crop',
                        lambda f, l, h, w: (f[:h, :w], l[:h, :w]))
    np.random.seed(0)
    flips = 0
    for _ in range(10):
        x, y = ds[0]
        plain = ds.labels[0].decode()[:CROP[0], :CROP[1]]
        flipped = np.array_equal(y.asnumpy(), plain[:, ::-1])
        assert flipped or np.array_equal(y.asnumpy(), plain)
        img = denormalize_image(x)
        raw = ds.features[0].decode()[:CROP[0], :CROP[1]]
        assert np.array_equal(img, raw[:, ::-1] if flipped else raw)
        flips += flipped
    assert 0 < flips < 10


def test_crop_larger_than_every_image(voc):
    with pytest.raises(ValueError, match='larger than every one of the 10 '
                                         'images.*pad=True'):
        VOCSegDataset(True, (900, 900), voc)


@pytest.mark.parametrize('crop, error', [((0, 10), ValueError),
                                         (320, ValueError),
                                         ((2.5, 3), TypeError)])
def test_bad_crop_size(voc, crop, error):
    with pytest.raises(error, match='crop_size'):
        VOCSegDataset(True, crop, voc)


def test_bad_scale(voc):
    with pytest.raises(ValueError, match='scale'):
        VOCSegDataset(True, CROP, voc, scale=(2, 1))


def test_whole_images(voc):
    features, labels = read_voc_images(voc, is_train=False)
    ds = VOCWholeImages(False, voc)
    assert len(ds) == 6
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (3,) + features[i].shape[:2]
        assert np.array_equal(y.asnumpy(), labels[i])
    ds32 = VOCWholeImages(False, voc, multiple=32)
    x, y = ds32[0]
    h, w = labels[0].shape
    assert x.shape[1] % 32 == 0 and x.shape[2] % 32 == 0
    assert x.shape[1] - h < 32 and x.shape[2] - w < 32
    assert (y.asnumpy()[h:] == 255).all() and (y.asnumpy()[:, w:] == 255).all()


def test_load_data_voc(voc, capsys):
    train_iter, val = load_data_voc(4, CROP, voc)
    assert isinstance(train_iter, gluon.data.DataLoader)
    batches = list(train_iter)
    assert len(batches) == 10 // 4
    X, Y = batches[0]
    assert X.shape == (4, 3) + CROP and Y.shape == (4,) + CROP
    # the val split as whole images (what train() evaluates), read once
    assert isinstance(val, VOCWholeImages) and len(val) == 6
    labels = read_voc_images(voc, is_train=False)[1]
    assert [val[i][1].shape for i in range(6)] == [l.shape for l in labels]
    assert capsys.readouterr().out.count('read ') == 1


@pytest.mark.parametrize('batch_size, error', [(0, ValueError),
                                               (-2, ValueError),
                                               (1.5, TypeError)])
def test_load_data_voc_bad_batch_size(voc, batch_size, error):
    with pytest.raises(error, match='batch_size'):
        load_data_voc(batch_size, CROP, voc)


def test_load_data_voc_batch_larger_than_split(voc):
    with pytest.raises(ValueError, match='batch_size 12 is larger than the 10'):
        load_data_voc(12, CROP, voc)


def test_find_voc_dir_prefers_real_then_sample(tmp_path, monkeypatch, capsys,
                                               voc):
    monkeypatch.setattr(locations, 'DATA_DIR', tmp_path)
    monkeypatch.setattr(find_data, 'QUICK_SAMPLE', ('small', 3, 2))
    sample = find_voc_dir(quick=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and 'sample dataset' in lines[0]
    assert sample == tmp_path / 'small' / 'VOCdevkit' / 'VOC2012'
    assert len(read_voc_images(sample)[0]) == 3
    shutil.copytree(voc, tmp_path / 'VOCdevkit' / 'VOC2012')
    assert find_voc_dir() == tmp_path / 'VOCdevkit' / 'VOC2012'
    assert 'real Pascal VOC 2012' in capsys.readouterr().out
    with pytest.raises(FileNotFoundError):
        find_voc_dir(tmp_path / 'missing')


def test_datasets_want_a_folder(voc):
    for make in (lambda: VOCSegDataset(True, CROP, None),
                 lambda: VOCWholeImages(False, None),
                 lambda: load_data_voc(2, CROP, None)):
        with pytest.raises(ValueError, match='find_voc_dir'):
            make()


def test_default_sample_is_make_sample_vocs_default(tmp_path, monkeypatch):
    """find_voc_dir and make_sample_voc() name the same folder and size."""
    monkeypatch.setattr(locations, 'DATA_DIR', tmp_path)
    made = []
    monkeypatch.setattr(find_data, 'make_sample_voc',
                        lambda *args: made.append(args) or tmp_path)
    find_voc_dir(verbose=False)
    find_voc_dir(quick=True, verbose=False)
    default, quick = made
    assert default == (tmp_path / sample_data.SAMPLE_FOLDER,
                       sample_data.SAMPLE_NUM_TRAIN, sample_data.SAMPLE_NUM_VAL)
    assert quick[0] != default[0] and quick[1:] < default[1:]


def test_read_encoded_matches_decoded(voc):
    features, labels = read_voc_images(voc, is_train=False)
    enc_features, enc_labels = read_voc_images(voc, False, encoded=True)
    for f, l, ef, el in zip(features, labels, enc_features, enc_labels):
        assert ef.shape == f.shape and el.shape == l.shape
        assert np.array_equal(ef.decode(), f)
        assert np.array_equal(el.decode(), l)
        assert len(ef.data) < f.nbytes / 4             # compressed in memory


def test_plotting_helpers(voc):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    features, labels = read_voc_images(voc, is_train=False)
    x, _ = VOCSegDataset(False, CROP, voc)[0]
    axes = d2lfcn.show_images([features[0], labels[0], x], 2, 2,
                              titles=['image', 'label', 'crop'])
    assert len(axes) == 4 and axes[1].get_title() == 'label'
    assert not axes[3].axison
    shown = axes[2].get_images()[0].get_array()
    assert shown.shape == CROP + (3,) and shown.dtype == np.uint8
    ax = d2lfcn.class_legend(axes[0], classes=[0, 15])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ['0 background', '15 person', '255 ignore']
    plt.close('all')


@pytest.mark.parametrize('content, words', [
    (b'\xef\xbb\xbf', None),                       # a BOM: read as UTF-8
    (b'\xff\xfe', 'is not UTF-8 text'),
    (b'dup', 'lists DUP twice')])
def test_split_files_bom_encoding_and_duplicates(voc_copy, content, words):
    split = voc_copy / 'ImageSets' / 'Segmentation' / 'train.txt'
    names = split.read_text().split()
    if content == b'dup':
        split.write_text('\n'.join(names + names[:1]) + '\n')
        words = words.replace('DUP', names[0])
    else:
        split.write_bytes(content + '\n'.join(names).encode())
    if words is None:
        assert voc_format.split_names(voc_copy, 'train') == names
    else:
        with pytest.raises(ValueError, match=re.escape(words)):
            voc_format.split_names(voc_copy, 'train')


def test_truncated_images_are_refused_even_after_importing_gluoncv(voc_copy):
    """GluonCV's import sets PIL's global LOAD_TRUNCATED_IMAGES = True; the
    reader must still refuse a truncated photo, and leave the flag as it
    found it."""
    from PIL import ImageFile
    import gluoncv.data  # noqa: F401
    assert ImageFile.LOAD_TRUNCATED_IMAGES
    name = first_name(voc_copy)
    path = voc_copy / 'JPEGImages' / f'{name}.jpg'
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match=f'{name}.jpg.*corrupt'):
        read_voc_images(voc_copy)
    assert ImageFile.LOAD_TRUNCATED_IMAGES
