"""Whole-image prediction of any size and format, colouring, and the
command line."""
import os
import re
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from helpers import ROOT
from d2lfcn.voc import VOC_COLORMAP, label_to_rgb
from d2lfcn.model import fcn_resnet18
from d2lfcn.prediction import as_rgb_image, overlay, predict


@pytest.fixture(scope='module')
def net():
    mx.random.seed(0)
    net = fcn_resnet18(21, pretrained=False)
    net.hybridize(static_alloc=True)
    return net


@pytest.mark.parametrize('shape', [(1, 1), (31, 33), (64, 64), (97, 250),
                                   (333, 500), (20, 17, 1), (45, 60, 3),
                                   (45, 60, 4)])
def test_output_size_always_equals_input_size(net, shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, shape).astype(np.uint8)
    pred = predict(net, image, [mx.cpu()])
    assert pred.shape == shape[:2] and pred.dtype == np.int64
    assert pred.min() >= 0 and pred.max() < 21


def test_grey_rgb_and_float_inputs_agree(net):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (40, 50)).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    a = predict(net, grey, [mx.cpu()])
    np.testing.assert_array_equal(a, predict(net, rgb, [mx.cpu()]))
    np.testing.assert_array_equal(a, predict(net, rgb / 255.0, [mx.cpu()]))


def test_rgba_is_composited_over_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (200, 100, 0, 255)          # opaque
    rgba[1, 1] = (0, 0, 0, 0)                # transparent
    rgb = as_rgb_image(rgba)
    assert tuple(rgb[0, 0]) == (200, 100, 0)
    assert tuple(rgb[1, 1]) == (255, 255, 255)


@pytest.mark.parametrize('image,error,words', [
    (np.zeros((0, 5, 3), np.uint8), ValueError, 'non-empty'),
    (np.zeros((5, 5, 2), np.uint8), ValueError, 'has 2 channels'),
    (np.zeros((2, 5, 5, 3), np.uint8), ValueError, 'got shape (2, 5, 5, 3)'),
    (np.full((5, 5), 3.0), ValueError, 'outside [0, 1]'),
    (np.zeros((5, 5), np.int32), TypeError, 'uint8 (0-255) or float (0-1)'),
])
def test_bad_images_are_named(net, image, error, words):
    with pytest.raises(error) as info:
        predict(net, image, [mx.cpu()])
    assert words in str(info.value)


def test_unknown_device(net):
    with pytest.raises(ValueError, match='does not exist'):
        predict(net, np.zeros((8, 8, 3), np.uint8), [mx.gpu(9)])


def test_label_to_rgb_and_overlay():
    pred = np.array([[0, 1], [15, 255]])
    colours = label_to_rgb(pred)
    assert colours.shape == (2, 2, 3) and colours.dtype == np.uint8
    assert tuple(colours[0, 1]) == tuple(VOC_COLORMAP[1])
    assert tuple(colours[1, 0]) == tuple(VOC_COLORMAP[15])
    image = np.full((2, 2, 3), 100, np.uint8)
    mixed = overlay(image, pred)
    assert tuple(mixed[0, 0]) == (100, 100, 100)      # background kept
    assert tuple(mixed[0, 1]) != (100, 100, 100)
    with pytest.raises(ValueError, match='same size'):
        overlay(np.zeros((3, 3, 3), np.uint8), pred)


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, '-m', 'd2lfcn', *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize('args, words', [
    (['train', '--crop', '320by480'], 'HEIGHTxWIDTH'),
    (['train', '--epochs', '0'], 'must be a finite number > 0'),
    (['train', '--devices', 'gpu7'], 'does not exist')])
def test_cli_bad_arguments(capsys, args, words):
    from d2lfcn.__main__ import main
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2 and words in err and 'Traceback' not in err


@pytest.mark.parametrize('command', ['train', 'predict', 'download-voc'])
def test_cli_help(capsys, command):
    from d2lfcn.__main__ import main
    with pytest.raises(SystemExit) as info:
        main([command, '--help'])
    assert info.value.code == 0 and 'usage:' in capsys.readouterr().out


def test_cli_runs_as_a_module():
    result = cli('predict', '--help')
    assert result.returncode == 0 and 'palette PNG' in result.stdout


def test_cli_predict_writes_pngs_and_never_overwrites(tmp_path, capsys):
    """End to end in a process of its own; the error paths in-process."""
    from mxnet import gluon

    from d2lfcn.checkpoints import save_checkpoint
    net = fcn_resnet18(21, pretrained=False, variant='16s')
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.1})
    save_checkpoint(tmp_path / 'ckpt', net, trainer, [{'epoch': 1}])
    photo = tmp_path / 'photo.png'
    Image.fromarray(np.random.default_rng(0).integers(
        0, 256, (45, 70, 4)).astype(np.uint8)).save(photo)
    out = tmp_path / 'out'
    result = cli('predict', photo, '-o', out, '--checkpoint',
                 tmp_path / 'ckpt', '--devices', 'cpu')
    assert result.returncode == 0, result.stderr
    with Image.open(out / 'photo.png') as im:
        assert im.size == (70, 45) and im.mode == 'P'   # VOC label format
        written = np.asarray(im)
        palette = np.array(im.getpalette()[:63]).reshape(21, 3)
    assert written.max() < 21 and (palette == np.array(VOC_COLORMAP)).all()
    before = (out / 'photo.png').read_bytes()
    code, err = run_main(capsys, 'predict', photo, '-o', out, '--checkpoint',
                         tmp_path / 'ckpt')
    assert code == 2 and '--overwrite' in err
    assert (out / 'photo.png').read_bytes() == before
    not_image = tmp_path / 'notes.jpg'
    not_image.write_text('hello')
    code, err = run_main(capsys, 'predict', not_image, '-o', tmp_path / 'o2',
                         '--checkpoint', tmp_path / 'ckpt')
    assert code == 2 and 'not a readable image' in err
    code, err = run_main(capsys, 'predict', photo, '-o', tmp_path / 'o3',
                         '--checkpoint', tmp_path / 'ckpt', '--num-classes',
                         '5')
    assert code == 2 and 'trained for 21 classes' in err
    assert 'Traceback' not in err


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    from mxnet import gluon

    from d2lfcn.checkpoints import save_checkpoint
    folder = tmp_path_factory.mktemp('ckpt')
    net = fcn_resnet18(21, pretrained=False)
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.1})
    return save_checkpoint(folder, net, trainer, [{'epoch': 1}])


def run_main(capsys, *args):
    from d2lfcn.__main__ import main
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def photo_file(path, size=(30, 40)):
    Image.fromarray(np.random.default_rng(0).integers(
        0, 256, size + (3,)).astype(np.uint8)).save(path)
    return path


def test_predict_never_writes_over_an_input_image(tmp_path, checkpoint,
                                                  capsys):
    photo = photo_file(tmp_path / 'photo.png')
    before = photo.read_bytes()
    code, err = run_main(capsys, 'predict', photo, '-o', tmp_path,
                         '--checkpoint', checkpoint, '--overwrite')
    assert code == 2 and 'is one of the input images' in err
    assert photo.read_bytes() == before


def test_predict_checks_every_input_before_writing(tmp_path, checkpoint,
                                                   capsys):
    good = photo_file(tmp_path / 'a.png')
    bad = tmp_path / 'b.jpg'
    bad.write_text('not an image')
    code, err = run_main(capsys, 'predict', good, bad, '-o', tmp_path / 'out',
                         '--checkpoint', checkpoint)
    assert code == 2 and 'b.jpg is not a readable image' in err
    assert not (tmp_path / 'out').exists()


def test_predict_names_inputs_with_the_same_stem(tmp_path, checkpoint,
                                                 capsys):
    (tmp_path / 'x').mkdir()
    one = photo_file(tmp_path / 'photo.png')
    two = photo_file(tmp_path / 'x' / 'photo.jpg')
    code, err = run_main(capsys, 'predict', one, two, '-o', tmp_path / 'out',
                         '--checkpoint', checkpoint)
    assert code == 2 and str(one) in err and str(two) in err


def test_predict_refuses_an_output_that_is_a_file(tmp_path, checkpoint,
                                                  capsys):
    photo = photo_file(tmp_path / 'photo.png')
    (tmp_path / 'out').write_text('a file')
    code, err = run_main(capsys, 'predict', photo, '-o', tmp_path / 'out',
                         '--checkpoint', checkpoint)
    assert code == 2 and 'is a file, not a folder' in err


def test_predict_applies_the_exif_orientation(tmp_path, checkpoint, capsys):
    """A JPEG stored 30 wide and 40 high with orientation 6 (turn 90°) is
    shown 40 wide and 30 high: so is its class map."""
    stored = Image.fromarray(np.zeros((40, 30, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / 'turned.jpg', exif=exif)
    code, err = run_main(capsys, 'predict', tmp_path / 'turned.jpg', '-o',
                         tmp_path / 'out', '--checkpoint', checkpoint)
    assert code == 0, err
    with Image.open(tmp_path / 'out' / 'turned.png') as im:
        assert im.size == (40, 30)


@pytest.mark.parametrize('args, words', [
    (['train', '--lr', 'nan'], 'must be a finite number > 0'),
    (['train', '--lr', 'inf'], 'must be a finite number > 0')])
def test_non_finite_numbers_are_refused(capsys, args, words):
    from d2lfcn.__main__ import main
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2 and words in capsys.readouterr().err


def test_train_checks_the_checkpoint_dir_before_training(tmp_path, capsys):
    (tmp_path / 'file').write_text('x')
    code, err = run_main(capsys, 'train', '--checkpoint-dir',
                         tmp_path / 'file', '--epochs', '1')
    assert code == 2 and 'is a file, not a folder' in err
    code, err = run_main(capsys, 'train', '--checkpoint-dir',
                         tmp_path / 'none', '--resume')
    assert code == 2 and 'nothing to resume in' in err
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    try:
        if not os.access(locked, os.W_OK):      # not when running as root
            code, err = run_main(capsys, 'train', '--checkpoint-dir',
                                 locked / 'run')
            assert code == 2 and 'is not writable' in err
    finally:
        locked.chmod(0o700)


def test_interrupting_predict_does_not_speak_of_checkpoints(
        monkeypatch, capsys):
    import d2lfcn.__main__ as cli_module

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli_module, 'run_predict', interrupted)
    code, err = run_main(capsys, 'predict', 'x.png', '-o', 'out',
                         '--checkpoint', 'c')
    assert code == 130 and 'checkpoint' not in err


def test_cli_download_voc_offline_fails_fast_with_a_hint(tmp_path):
    # port 9 (discard) on the loopback refuses at once, as offline does
    result = cli('download-voc', '--data-dir', tmp_path, '--url',
                 'http://127.0.0.1:9/VOCtrainval_11-May-2012.tar')
    assert result.returncode == 2
    assert 'by hand' in result.stderr and 'Traceback' not in result.stderr


@pytest.mark.parametrize('image, error, words', [
    ('photo.jpg', TypeError, "got the path 'photo.jpg'"),
    (np.full((4, 5, 3), np.nan), ValueError, 'NaN or infinite')])
def test_paths_and_nan_pixels_are_refused(net, image, error, words):
    with pytest.raises(error, match=re.escape(words)):
        predict(net, image, [mx.cpu()])


def test_numpy_integers_are_accepted_as_numbers_of_classes():
    from d2lfcn.metrics import SegMetric
    assert SegMetric(np.int64(21)).num_classes == 21
    assert fcn_resnet18(np.int64(3), pretrained=False).num_classes == 3


@pytest.fixture(scope='module')
def tiny_sample(tmp_path_factory):
    from d2lfcn.sample_data import make_sample_voc
    return make_sample_voc(tmp_path_factory.mktemp('tiny') / 'sample', 8, 2)


def test_train_defaults_follow_the_data(tiny_sample, tmp_path, capsys):
    """Chapter 5's crop, batch and random start on the sample dataset;
    the d2l crop and ImageNet weights on anything else; given options win."""
    from d2lfcn.__main__ import _recipe, build_parser
    args = build_parser().parse_args(['train'])
    assert _recipe(args, tiny_sample) == ((128, 160), 16, False)
    assert 'sample dataset: crop 128x160, batch 16' in capsys.readouterr().out
    assert _recipe(args, tmp_path) == ((320, 480), 8, True)
    args = build_parser().parse_args(['train', '--crop', '64x96',
                                      '--batch-size', '4', '--pretrained'])
    assert _recipe(args, tiny_sample) == ((64, 96), 4, True)


def test_train_errors_name_the_options(tiny_sample, tmp_path, capsys):
    code, err = run_main(capsys, 'train', '--voc-dir', tiny_sample,
                         '--crop', '1000x1000', '--checkpoint-dir',
                         tmp_path / 'run', '--epochs', '1')
    assert code == 2 and '--crop (1000, 1000) is larger than' in err, err
    assert 'crop_size' not in err and 'pad=True' not in err
    code, err = run_main(capsys, 'train', '--voc-dir', tiny_sample,
                         '--batch-size', '50', '--crop', '64x96',
                         '--checkpoint-dir', tmp_path / 'run2')
    assert code == 2 and '--batch-size 50 is larger' in err, err


@pytest.mark.slow
def test_train_uses_the_recipe_of_chapter_5(tiny_sample, tmp_path, capsys):
    """Adam with the poly schedule, seeded: two runs give the same weights."""
    results = []
    for run in ('a', 'b'):
        code, err = run_main(capsys, 'train', '--voc-dir', tiny_sample,
                             '--crop', '64x96', '--batch-size', '4',
                             '--epochs', '1', '--checkpoint-dir',
                             tmp_path / run)
        assert code == 0, err
        epoch = tmp_path / run / 'epoch-0001'
        results.append((epoch / 'net.params').read_bytes())
        assert b'Adam' in (epoch / 'trainer.states').read_bytes()
    assert results[0] == results[1]


def test_overwrite_replaces_a_hard_link_instead_of_writing_through_it(
        tmp_path, checkpoint, capsys):
    """#24 row 10: with --overwrite, an output that was a hard link to the
    input photo was written through, and the photo was lost."""
    photo = photo_file(tmp_path / 'photo.png')
    before = photo.read_bytes()
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    os.link(photo, out_dir / 'photo.png')
    code, err = run_main(capsys, 'predict', photo, '-o', out_dir,
                         '--checkpoint', checkpoint, '--overwrite')
    assert code == 0, err
    assert photo.read_bytes() == before
    assert (out_dir / 'photo.png').read_bytes() != before
    assert [p.name for p in out_dir.iterdir()] == ['photo.png']   # no temp
