"""Rows of the second bad-input sweep (issue 24): each test failed before
its fix."""
import os

import numpy as np
import pytest

from d2lfcn import validate
from d2lfcn.voc import label_to_rgb


def one_layer_segmenter():
    """The smallest net train() accepts: 1x1 scores of 3 classes (trains in
    milliseconds where an FCN takes seconds)."""
    from mxnet import gluon
    net = gluon.nn.Conv2D(3, 1, in_channels=3)
    net.initialize()
    net.num_classes = 3
    return net


@pytest.mark.parametrize('bad', [256, -1, 1.7, np.nan])
def test_label_to_rgb_refuses_values_that_are_no_class(bad):
    """Row 13: 256, -1, 1.7 and NaN were coloured as background, ignore or
    class 1."""
    label = np.array([[0, 1], [255, bad]], dtype=np.float64)
    with pytest.raises(ValueError, match='class indices'):
        label_to_rgb(label)


def test_label_to_rgb_still_colours_classes_and_ignore():
    rgb = label_to_rgb(np.array([[0, 1], [20, 255]], np.uint8))
    assert rgb.shape == (2, 2, 3) and tuple(rgb[1, 1]) == (224, 224, 192)


def test_more_classes_than_the_ignore_value_allows_are_refused():
    """Row 12: with 256 or more classes, class 255 is also the ignore label
    and was dropped silently."""
    assert validate.num_classes(255) == 255
    with pytest.raises(ValueError, match='255'):
        validate.num_classes(256)


def test_checkpoints_past_epoch_9999_are_found(tmp_path):
    """Row 5: epoch-10000 and later were not listed, so --resume restarted
    from epoch 9999; they also sort by number, not as text."""
    from d2lfcn.checkpoints import CHECKPOINT_FILES, list_checkpoints
    for epoch in (9999, 10000, 10001):
        folder = tmp_path / f'epoch-{epoch:04d}'
        folder.mkdir()
        for name in CHECKPOINT_FILES:
            (folder / name).write_text('x')
    found = [p.name for p in list_checkpoints(tmp_path)]
    assert found == ['epoch-9999', 'epoch-10000', 'epoch-10001']


def _png_bytes(img):
    import io
    buffer = io.BytesIO()
    img.save(buffer, format='PNG')
    return buffer.getvalue()


def test_a_mode_1_label_keeps_its_classes():
    """Row 2: a boolean mask saved by PIL (mode '1', values 0/1) was read as
    {0, 255}, so class 1 silently became 'ignore'."""
    from PIL import Image

    from d2lfcn.voc import _decode_label
    mask = np.zeros((6, 8), bool)
    mask[2:5, 3:7] = True
    label = _decode_label(_png_bytes(Image.fromarray(mask).convert('1')),
                          'mask.png')
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
    assert (label == mask).all()


@pytest.mark.parametrize('kind', ['uint16 PNG', 'float TIFF in [0, 1]'])
def test_deep_grey_photos_keep_their_picture(kind):
    """Row 1: a 16-bit grey PNG or a float TIFF photo was read as all 255
    (or all 0)."""
    import io

    from PIL import Image

    from d2lfcn.voc import _decode_image
    ramp = np.tile(np.linspace(0, 1, 16), (4, 1))
    if kind == 'uint16 PNG':
        data = _png_bytes(Image.fromarray((ramp * 65535).astype(np.uint16)))
    else:
        buffer = io.BytesIO()
        Image.fromarray(ramp.astype(np.float32), mode='F').save(buffer,
                                                                 format='TIFF')
        data = buffer.getvalue()
    rgb = _decode_image(data, 'photo')
    assert rgb.shape == (4, 16, 3) and rgb.dtype == np.uint8
    np.testing.assert_allclose(rgb[..., 0], ramp * 255, atol=1)


def test_a_float_photo_outside_both_ranges_is_refused():
    import io

    from PIL import Image

    from d2lfcn.voc import _decode_image
    buffer = io.BytesIO()
    Image.fromarray(np.full((3, 3), 700, np.float32), mode='F').save(
        buffer, format='TIFF')
    with pytest.raises(ValueError, match='photo'):
        _decode_image(buffer.getvalue(), 'photo.tif')


def test_a_huge_device_index_is_refused_at_once():
    """Row 4: --devices cpu10000000 allocated memory until it ran out."""
    from d2lfcn.devices import checked_devices
    with pytest.raises(ValueError, match='cpu'):
        checked_devices(['cpu10000000'])
    assert len(checked_devices(['cpu0', 'cpu1'])) == 2


def test_predict_reads_a_16_bit_photo_as_its_picture(tmp_path):
    """Row 1, on the command line's side."""
    from PIL import Image

    from d2lfcn.__main__ import _read_image
    ramp = np.tile(np.linspace(0, 1, 16), (4, 1))
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / 'p.png')
    rgb = _read_image(tmp_path / 'p.png')
    np.testing.assert_allclose(rgb[..., 1], ramp * 255, atol=1)


def test_a_refused_resume_leaves_the_callers_trainer_alone(tmp_path):
    """Row 6: resuming an SGD checkpoint with an Adam trainer was refused,
    but only after the caller's Trainer had been switched to SGD with the
    checkpoint's learning rate."""
    import mxnet as mx
    from mxnet import gluon, nd

    from d2lfcn.checkpoint_reading import _load_trainer_states
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    sgd = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.05})
    with mx.autograd.record():
        net(nd.ones((1, 3))).sum().backward()
    sgd.step(1)
    sgd.save_states(str(tmp_path / 'trainer.states'))
    adam = gluon.Trainer(net.collect_params(), 'adam', {'learning_rate': 1e-3})
    with pytest.raises(ValueError, match='SGD'):
        _load_trainer_states(adam, tmp_path / 'trainer.states')
    assert type(adam.optimizer).__name__ == 'Adam'
    assert adam.learning_rate == 1e-3


def test_metric_updates_wait_for_their_queued_work(monkeypatch):
    """Row 11: a loop of SegMetric.update on MXNet arrays never waited for
    the queued work (40 updates of 2048x2048 reached 6.6 GB), and evaluate()
    returned with work still queued."""
    from mxnet import nd

    from d2lfcn.metrics import SegMetric
    from d2lfcn.training import evaluate
    waits = []
    real = nd.NDArray.wait_to_read
    monkeypatch.setattr(nd.NDArray, 'wait_to_read',
                        lambda self: (waits.append(1), real(self))[1])
    metric = SegMetric(3)
    label = nd.array(np.random.default_rng(0).integers(0, 3, (1, 8, 8)))
    for _ in range(40):
        metric.update(label, label)
    assert len(waits) >= 40 // SegMetric.MAX_QUEUED
    waits.clear()

    class Identity:
        num_classes = 3

        def collect_params(self):
            return {}

        def __call__(self, x):
            return nd.one_hot(x[:, 0], 3).transpose((0, 3, 1, 2))
    evaluate(Identity(), [(label.expand_dims(1), label)], ['cpu'])
    assert waits, 'evaluate returned without waiting for its metric'


def test_a_checkpoint_cut_short_is_not_counted_complete(tmp_path, monkeypatch):
    """Row 9: with a file-size limit that cut net.params short by 28 bytes,
    every checkpoint was truncated yet counted complete; predict and
    --resume failed later."""
    from mxnet import gluon

    from d2lfcn.checkpoints import list_checkpoints, save_checkpoint
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), 'adam')
    real = net.save_parameters

    def cut_short(path, *args, **kwargs):
        real(path, *args, **kwargs)
        with open(path, 'r+b') as f:
            f.truncate(max(0, f.seek(0, 2) - 28))
    monkeypatch.setattr(net, 'save_parameters', cut_short)
    with pytest.raises(OSError, match='not written completely'):
        save_checkpoint(tmp_path, net, trainer, [{'epoch': 1}])
    assert list_checkpoints(tmp_path) == []
    assert list(tmp_path.iterdir()) == []          # nothing half-written left


# Row 3: a file the user put into a generated sample dataset, or edited
# there, is never deleted by making the sample set again.

@pytest.mark.parametrize('change', ['add', 'edit', 'add-folder'])
def test_regenerating_keeps_files_the_user_put_into_a_sample_set(tmp_path,
                                                                  change):
    from d2lfcn.sample_data import make_sample_voc
    voc_dir = make_sample_voc(tmp_path, 3, 2, seed=0)
    if change == 'add':
        mine = voc_dir / 'JPEGImages' / 'my_photo.jpg'
    elif change == 'edit':
        mine = voc_dir / 'SegmentationClass' / 'sample_000001.png'
    else:
        mine = voc_dir / 'SegmentationObject' / 'sample_000001.png'
        mine.parent.mkdir()
    mine.write_bytes(b'the user\'s own')
    with pytest.raises(FileExistsError, match=f'{mine.name}.*Nothing was '
                                              f'changed.*move those files'):
        make_sample_voc(tmp_path, 2, 2, seed=0)
    assert mine.read_bytes() == b'the user\'s own'
    assert len(list(voc_dir.glob('JPEGImages/sample_*.jpg'))) == 5


def test_a_sample_set_of_the_previous_format_keeps_the_users_files(tmp_path):
    """A marker written before the list of files was kept (format 4): the
    files are checked by name."""
    import json
    from d2lfcn.sample_data import make_sample_voc
    voc_dir = make_sample_voc(tmp_path, 3, 2, seed=0)
    marker = voc_dir / 'sample_complete.json'
    old = json.loads(marker.read_text())
    del old['files']
    old['format'] = 3
    marker.write_text(json.dumps(old))
    (voc_dir / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='notes.txt'):
        make_sample_voc(tmp_path, 3, 2, seed=0)
    (voc_dir / 'notes.txt').unlink()
    assert make_sample_voc(tmp_path, 3, 2, seed=0) == voc_dir  # replaced
    assert 'files' in json.loads(marker.read_text())


# Rows 7 and 8: a checkpoint folder in use is locked; only the leftovers of
# dead processes are cleaned.

def test_a_second_training_on_a_folder_in_use_is_refused_and_touches_nothing(
        tmp_path):
    """Row 7: a second train on a folder in use was refused, but only after
    deleting the running job's half-written checkpoint."""
    from mxnet import gluon

    from helpers import toy_segmentation
    from d2lfcn.folder_lock import FolderInUseError, locked_folder
    from d2lfcn.training import SegmentationLoss, train
    net = one_layer_segmenter()
    trainer = gluon.Trainer(net.collect_params(), 'adam')
    running = tmp_path / f'.epoch-0002.{os.getppid()}.partial'  # a live pid
    with locked_folder(tmp_path):           # the running job
        running.mkdir()
        (running / 'net.params').write_bytes(b'being written')
        with pytest.raises(FolderInUseError, match=f'in use by process '
                                                   f'{os.getpid()}'):
            train(net, [toy_segmentation(2)[0]], None, SegmentationLoss(),
                  trainer, 1, ['cpu'], checkpoint_dir=tmp_path)
        assert (running / 'net.params').read_bytes() == b'being written'
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name,
                                                           '.lock']


LOCK_AND_WAIT = '''
import sys
from d2lfcn.folder_lock import locked_folder
try:
    with locked_folder(sys.argv[1]):
        print('locked', flush=True)
        sys.stdin.read()                # holds the lock until stdin closes
except BlockingIOError as e:
    print(e, flush=True)
'''


def holding_the_lock(folder):
    """A process that locks folder (as a training does) and holds the lock
    until its stdin is closed."""
    import subprocess
    import sys

    from helpers import ROOT
    return subprocess.Popen([sys.executable, '-c', LOCK_AND_WAIT,
                             str(folder)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def test_two_runs_started_together_on_one_new_folder_cannot_mix(tmp_path):
    """Row 8: two trainings started together on one new folder both exited
    0 and left a folder mixing their checkpoints. The lock is the
    operating system's: of two processes, one gets it."""
    folder = tmp_path / 'new' / 'run'
    runs = [holding_the_lock(folder) for _ in range(2)]
    said = sorted(run.stdout.readline().strip() for run in runs)
    for run in runs:
        run.communicate(timeout=60)
    assert said[0].endswith('or choose another folder for this one'), said
    assert 'in use by process' in said[0] and said[1] == 'locked'


def test_a_training_of_another_process_holds_the_folder_until_it_dies(
        tmp_path):
    """The lock of a live process refuses train() here; kill -9 leaves the
    lock file, but not the lock, and train() then runs."""
    import signal

    from mxnet import gluon

    from helpers import toy_segmentation
    from d2lfcn.checkpoints import list_checkpoints
    from d2lfcn.folder_lock import FolderInUseError, in_use_by
    from d2lfcn.training import SegmentationLoss, train
    net = one_layer_segmenter()
    trainer = gluon.Trainer(net.collect_params(), 'adam')
    batches = gluon.data.DataLoader(toy_segmentation(2), 2)
    run = holding_the_lock(tmp_path)
    assert run.stdout.readline().strip() == 'locked'
    assert f'process {run.pid}' in in_use_by(tmp_path)
    with pytest.raises(FolderInUseError, match=f'process {run.pid}'):
        train(net, batches, None, SegmentationLoss(), trainer, 1, ['cpu'],
              checkpoint_dir=tmp_path, plot=False)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert in_use_by(tmp_path) is None
    train(net, batches, None, SegmentationLoss(), trainer, 1, ['cpu'],
          checkpoint_dir=tmp_path, plot=False)
    assert [p.name for p in list_checkpoints(tmp_path)] == ['epoch-0001']
    assert in_use_by(tmp_path) is None          # released at the end


def test_only_the_leftovers_of_dead_processes_are_cleaned(tmp_path):
    from mxnet import gluon

    from d2lfcn.checkpoints import (list_checkpoints, prepare_checkpoints,
                                    save_checkpoint)
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    net.num_classes = 2
    trainer = gluon.Trainer(net.collect_params(), 'adam')
    save_checkpoint(tmp_path, net, trainer, [{'epoch': 1}])
    dead, live = 999999999, os.getppid()
    (tmp_path / f'.epoch-0002.{dead}.partial').mkdir()
    (tmp_path / f'.epoch-0002.{live}.partial').mkdir()
    # a run killed between moving epoch-0001 aside and renaming its new one
    # into place: the complete old one is put back
    os.replace(tmp_path / 'epoch-0001', tmp_path / f'.epoch-0001.{dead}.old')
    assert prepare_checkpoints(tmp_path, net, trainer, True, None)[0] == \
        [{'epoch': 1}]
    assert [p.name for p in list_checkpoints(tmp_path)] == ['epoch-0001']
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f'.epoch-0002.{live}.partial', 'epoch-0001']


def test_the_command_line_refuses_a_folder_in_use_before_any_work(tmp_path,
                                                                  capsys):
    from d2lfcn.__main__ import main
    from d2lfcn.folder_lock import locked_folder
    with locked_folder(tmp_path):
        assert main(['train', '--checkpoint-dir', str(tmp_path),
                     '--voc-dir', str(tmp_path / 'no such folder')]) == 2
    err = capsys.readouterr().err
    assert f'in use by process {os.getpid()}' in err
    assert 'choose another --checkpoint-dir' in err


def test_resume_waits_for_the_run_in_the_folder_then_continues(tmp_path,
                                                               capsys):
    """A notebook's train(resume=True) (chapter 7 reusing chapter 5's net
    while chapter 5 trains it in another tab) waits instead of failing."""
    import threading
    import time

    from mxnet import gluon

    from helpers import toy_segmentation
    from d2lfcn.checkpoints import list_checkpoints
    from d2lfcn.training import SegmentationLoss, train
    net = one_layer_segmenter()
    trainer = gluon.Trainer(net.collect_params(), 'adam')
    run = holding_the_lock(tmp_path)
    assert run.stdout.readline().strip() == 'locked'
    threading.Timer(1.5, run.stdin.close).start()   # that run ends
    t0 = time.time()
    train(net, gluon.data.DataLoader(toy_segmentation(2), 2), None,
          SegmentationLoss(), trainer, 1, ['cpu'], checkpoint_dir=tmp_path,
          resume=True, plot=False)
    assert run.wait() == 0 and time.time() - t0 > 1
    assert f'in use by process {run.pid}' in capsys.readouterr().out
    assert [p.name for p in list_checkpoints(tmp_path)] == ['epoch-0001']


# WEAK classes: right outcome, now also clear words.

MXNET_MESSAGE = ('Traceback (most recent call last):\n'
                 '  File "../3rdparty/dmlc-core/src/io/local_filesys.cc", '
                 'line 38\nMXNetError: Check failed: std: :fwrite(ptr, 1, '
                 'size, fp_) == size: FileStream.Write incomplete')


def test_an_mxnet_error_is_told_by_its_message_not_its_traceback():
    from mxnet import nd
    from mxnet.base import MXNetError
    assert validate.error_line(MXNetError(MXNET_MESSAGE)) == (
        'Check failed: std: :fwrite(ptr, 1, size, fp_) == size: '
        'FileStream.Write incomplete')
    with pytest.raises(MXNetError) as caught:
        nd.ones((2, 3)).reshape((4, 4))
    assert 'target shape size is larger' in validate.error_line(caught.value)
    assert validate.error_line(ValueError('first\nsecond')) == 'first'
    assert len(validate.error_line(ValueError('x' * 500), 50)) == 50


def test_the_command_line_prints_mxnets_message(monkeypatch, capsys):
    from mxnet.base import MXNetError

    from d2lfcn import __main__ as cli

    def fail(args):
        raise MXNetError(MXNET_MESSAGE)
    monkeypatch.setattr(cli, 'run_download', fail)
    assert cli.main(['download-voc']) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and 'FileStream.Write incomplete' in err


def test_a_full_disk_while_saving_is_named_as_such(tmp_path, monkeypatch):
    """MXNet's write error at net.params becomes an OSError that says what
    to check; nothing is left behind."""
    from mxnet import gluon
    from mxnet.base import MXNetError

    from d2lfcn.checkpoints import save_checkpoint
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), 'adam')

    def disk_full(path, *args, **kwargs):
        open(path, 'wb').close()
        raise MXNetError(MXNET_MESSAGE)
    monkeypatch.setattr(net, 'save_parameters', disk_full)
    with pytest.raises(OSError, match='epoch-0001: Check failed.*incomplete; '
                                      'is the disk full'):
        save_checkpoint(tmp_path, net, trainer, [{'epoch': 1}])
    assert list(tmp_path.iterdir()) == []


def test_a_bare_params_file_of_another_variant_names_the_variant(tmp_path):
    from d2lfcn.checkpoints import load_checkpoint
    from d2lfcn.model import fcn_resnet18
    fcn_resnet18(3, pretrained=False, variant='8s').save_parameters(
        str(tmp_path / 'fcn8s.params'))
    with pytest.raises(ValueError, match="variant '8s'.*--variant 8s"):
        load_checkpoint(tmp_path / 'fcn8s.params',
                        fcn_resnet18(3, pretrained=False))
    (tmp_path / 'junk.params').write_bytes(b'junk')
    with pytest.raises(ValueError, match='junk.params: it is not an MXNet '
                                         'parameter file.*Invalid NDArray'):
        load_checkpoint(tmp_path / 'junk.params',
                        fcn_resnet18(3, pretrained=False))


@pytest.mark.parametrize('field, value, words', [
    ('history', 'lost', 'history is "lost", not a list'),
    ('num_classes', '21', 'num_classes is "21", not a whole number'),
    ('variant', '4s', "variant is \"4s\", not '32s'"),
    ('signature', [1, 2], 'signature is \\[1, 2\\], not a dict'),
    ('epoch', -1, 'epoch is -1')])
def test_hand_edited_meta_is_named_field_by_field(tmp_path, field, value,
                                                  words):
    import json

    from mxnet import gluon

    from d2lfcn.checkpoints import (load_checkpoint, read_checkpoint_meta,
                                    save_checkpoint)
    net = gluon.nn.Dense(2, in_units=3)
    net.initialize()
    net.num_classes = 2
    trainer = gluon.Trainer(net.collect_params(), 'adam')
    folder = save_checkpoint(tmp_path, net, trainer, [{'epoch': 1}])
    meta = json.loads((folder / 'meta.json').read_text())
    meta[field] = value
    (folder / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f'meta.json was edited or is '
                                         f'corrupt: {words}.*delete '
                                         f'epoch-0001'):
        read_checkpoint_meta(folder)
    with pytest.raises(ValueError, match=words):
        load_checkpoint(folder, net, trainer)


def test_a_photo_turned_by_exif_is_named_when_its_label_does_not_fit(
        tmp_path):
    """A phone photo stored 40x60 with EXIF orientation 6 (shown 60x40) and
    a label drawn as shown got a size error with no hint."""
    from PIL import Image

    from d2lfcn.voc import read_voc_pair
    for sub in ('JPEGImages', 'SegmentationClass'):
        (tmp_path / sub).mkdir()
    photo = Image.fromarray(np.zeros((40, 60, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(tmp_path / 'JPEGImages' / 'phone.jpg', exif=exif)
    Image.fromarray(np.zeros((60, 40), np.uint8)).save(
        tmp_path / 'SegmentationClass' / 'phone.png')
    with pytest.raises(ValueError, match='40x60 but its label phone.png is '
                       '60x40.*EXIF orientation 6.*show it turned \\(60x40\\)'
                       '.*drawn on the photo as shown.*exif_transpose'):
        read_voc_pair(tmp_path, 'phone')
    photo.save(tmp_path / 'JPEGImages' / 'phone.jpg')      # no EXIF: no hint
    with pytest.raises(ValueError) as caught:
        read_voc_pair(tmp_path, 'phone')
    assert 'EXIF' not in str(caught.value)


def test_labels_that_are_all_ignore_are_refused_before_training(tmp_path):
    """All-255 training labels were found only after a full epoch."""
    from PIL import Image

    from d2lfcn.data import VOCSegDataset
    from d2lfcn.voc import write_label_png
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        (tmp_path / sub).mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(
            tmp_path / 'JPEGImages' / f'{i}.jpg')
        write_label_png(np.full((40, 50), 255, np.uint8),
                        tmp_path / 'SegmentationClass' / f'{i}.png')
    for split in ('train', 'val'):
        (tmp_path / 'ImageSets' / 'Segmentation' / f'{split}.txt').write_text(
            '0\n1\n2\n')
    with pytest.raises(ValueError, match='every pixel of the 3 train labels '
                                         'in .* is 255 .*SegmentationClass'):
        VOCSegDataset(True, (32, 32), tmp_path)
    write_label_png(np.ones((40, 50), np.uint8),
                    tmp_path / 'SegmentationClass' / '2.png')
    assert len(VOCSegDataset(True, (32, 32), tmp_path)) == 3


@pytest.mark.parametrize('value, words', [
    ('', 'D2LFCN_DATA is set but empty.*current folder.*unset it'),
    ('file', 'D2LFCN_DATA=.*file is a file, not a folder; set D2LFCN_DATA'),
    ('read-only', 'D2LFCN_DATA=.*read-only is not writable; set D2LFCN_DATA')])
def test_a_bad_d2lfcn_data_is_named(tmp_path, monkeypatch, value, words):
    """D2LFCN_DATA set to a file, to "" (the sample set landed in the
    working directory) or to a read-only folder was not named."""
    from d2lfcn import locations
    from d2lfcn.find_data import find_voc_dir
    if value == 'file':
        value = str(tmp_path / 'file')
        (tmp_path / 'file').write_text('not a folder')
    elif value == 'read-only':
        value = str(tmp_path / 'read-only')
        (tmp_path / 'read-only').mkdir(mode=0o555)
        real = os.access      # root may write anywhere: as for another user
        monkeypatch.setattr(os, 'access', lambda path, mode: False if str(
            path) == value and mode & os.W_OK else real(path, mode))
    monkeypatch.setenv('D2LFCN_DATA', value)
    monkeypatch.setattr(locations, 'DATA_DIR', __import__('pathlib').Path(
        value))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError if value else ValueError, match=words):
        find_voc_dir(quick=True)
    assert sorted(p.name for p in tmp_path.iterdir()) in (
        [], ['file'], ['read-only'])


def test_a_data_folder_given_to_download_voc_is_named(tmp_path):
    from d2lfcn.download import download_voc
    (tmp_path / 'f').write_text('x')
    with pytest.raises(NotADirectoryError, match='data_dir .*f is a file'):
        download_voc(tmp_path / 'f')


@pytest.mark.parametrize('kwargs, words', [
    ({'url': 'voc.tar'}, 'url must be an http'),
    ({'url': None}, 'url must be'),
    ({'sha1': 'abc'}, 'sha1 must be None or the 40 hex digits'),
    ({'timeout': 0}, 'timeout must be a number of seconds > 0'),
    ({'timeout': '10'}, 'timeout must be')])
def test_download_voc_arguments_are_checked_first(tmp_path, kwargs, words):
    from d2lfcn.download import download_voc
    with pytest.raises(ValueError, match=words):
        download_voc(tmp_path / 'data', **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('feature, label, size, words', [
    ((4, 5, 3), (3, 5), (8, 6), 'feature is \\(4, 5\\) but label is'),
    ((4, 5, 3), (4, 5), (8.5, 6), 'height must be an integer'),
    ((4, 5, 3), (4, 5), (-1, 6), 'height must be'),
    ((4, 5), (4, 5), (8, 6), 'feature must be an \\(h, w, 3\\) image'),
    ((4, 5, 3), (4, 5, 1), (8, 6), 'label must be \\(h, w\\)')])
def test_pad_to_size_names_its_argument(feature, label, size, words):
    """pad_to_size's mistakes surfaced as raw numpy errors."""
    from d2lfcn.data import pad_to_size
    with pytest.raises((ValueError, TypeError), match=words):
        pad_to_size(np.zeros(feature, np.uint8), np.zeros(label, np.uint8),
                    *size)


def test_resuming_with_another_batch_size_or_crop_says_so(tmp_path, capsys):
    """Resuming with another --batch-size or --crop was silent (a change of
    learning rate is reported)."""
    from mxnet import gluon

    from helpers import toy_segmentation
    from d2lfcn.training import SegmentationLoss, train
    net = one_layer_segmenter()

    def run(epochs, batch_size, height):
        trainer = gluon.Trainer(net.collect_params(), 'adam')
        data = gluon.data.DataLoader(toy_segmentation(4, height, 64),
                                     batch_size)
        train(net, data, None, SegmentationLoss(), trainer, epochs, ['cpu'],
              checkpoint_dir=tmp_path, resume=True, plot=False)
        return capsys.readouterr().out
    assert 'another shape' not in run(1, 2, 64)
    assert 'another shape' not in run(2, 2, 64)
    said = run(3, 4, 32)
    assert "another shape than the checkpoint's run: batch size 2 -> 4, " \
           "crop height 64 -> 32" in said


@pytest.mark.parametrize('count, rows, cols, words', [
    (0, 1, 2, 'got no images'),
    (7, 2, 3, '7 images for a 2 x 3 grid of 6 cells.*num_rows = 3'),
    (2, 0, 2, 'num_rows must be >= 1')])
def test_show_images_refuses_a_grid_that_does_not_fit(count, rows, cols,
                                                      words):
    """With more images than cells some were dropped silently; with none
    the figure size became NaN."""
    from d2lfcn.plotting import show_images
    imgs = [np.zeros((4, 6, 3), np.uint8)] * count
    with pytest.raises(ValueError, match=words):
        show_images(imgs, rows, cols)


def test_the_optimizer_state_of_another_model_is_refused_on_loading(
        tmp_path):
    """A trainer.states swapped in from another run loaded, and the first
    step failed deep in MXNet (Incompatible attr ... expected [21], got
    [32])."""
    import mxnet as mx
    from mxnet import gluon, nd

    from d2lfcn.checkpoint_reading import _load_trainer_states

    def trained(units):
        net = gluon.nn.Dense(units, in_units=3)
        net.initialize()
        trainer = gluon.Trainer(net.collect_params(), 'adam')
        with mx.autograd.record():
            net(nd.ones((1, 3))).sum().backward()
        trainer.step(1)
        return trainer
    trained(32).save_states(str(tmp_path / 'trainer.states'))
    with pytest.raises(ValueError, match='optimizer state of another model '
                                         '.*is \\(21,( 3)?\\), its state '
                                         'there \\(32,( 3)?\\).*delete that'):
        _load_trainer_states(trained(21), tmp_path / 'trainer.states')
    _load_trainer_states(trained(32), tmp_path / 'trainer.states')  # fits


def test_a_read_only_data_folder_with_its_sample_set_is_used(tmp_path,
                                                            monkeypatch):
    """Only writing needs a writable D2LFCN_DATA: a complete sample set in a
    read-only one (a shared mount) is reused."""
    from pathlib import Path

    from d2lfcn import locations
    from d2lfcn.find_data import QUICK_SAMPLE, find_voc_dir
    from d2lfcn.sample_data import make_sample_voc
    folder, num_train, num_val = QUICK_SAMPLE
    voc_dir = make_sample_voc(tmp_path / folder, num_train, num_val)
    monkeypatch.setenv('D2LFCN_DATA', str(tmp_path))
    monkeypatch.setattr(locations, 'DATA_DIR', Path(tmp_path))
    real = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if str(
        path).startswith(str(tmp_path)) and mode & os.W_OK
        else real(path, mode))
    assert find_voc_dir(quick=True, verbose=False) == voc_dir
    with pytest.raises(PermissionError, match='D2LFCN_DATA=.* is not '
                                              'writable'):
        find_voc_dir(verbose=False)         # the full set must be written


def test_an_upper_case_sha1_is_compared_as_hex(tmp_path):
    import hashlib

    from d2lfcn.download import download_voc
    archive = tmp_path / 'VOCtrainval_11-May-2012.tar'
    archive.write_bytes(b'not a tar')
    digest = hashlib.sha1(archive.read_bytes()).hexdigest().upper()
    with pytest.raises(Exception) as caught:
        download_voc(tmp_path, sha1=digest)
    assert 'SHA-1' not in str(caught.value) and archive.exists()


def test_crops_take_any_number_of_channels():
    from d2lfcn.data import voc_rand_crop
    label = np.zeros((6, 7), np.uint8)
    for feature in (np.zeros((6, 7, 4)), np.zeros((6, 7))):
        assert voc_rand_crop(feature, label, 3, 4)[0].shape[:2] == (3, 4)


@pytest.mark.parametrize('kwargs, words', [
    ({'num_classes': 3}, 'num_classes=3 \\(--num-classes 3\\)'),
    ({'learn_final_upsampling': True}, 'learn_final_upsampling=True')])
def test_a_bare_params_file_names_what_differs(tmp_path, kwargs, words):
    from d2lfcn.checkpoints import load_checkpoint
    from d2lfcn.model import fcn_resnet18
    fcn_resnet18(**{'num_classes': 21, 'pretrained': False, **kwargs}) \
        .save_parameters(str(tmp_path / 'net.params'))
    with pytest.raises(ValueError, match=words) as caught:
        load_checkpoint(tmp_path / 'net.params',
                        fcn_resnet18(21, pretrained=False))
    assert '--variant' not in str(caught.value)


def test_what_file_browsers_leave_does_not_block_a_new_sample_set(tmp_path):
    from d2lfcn.sample_data import make_sample_voc
    voc_dir = make_sample_voc(tmp_path, 3, 2, seed=0)
    (voc_dir / 'JPEGImages' / '.DS_Store').write_bytes(b'finder')
    (voc_dir / '.ipynb_checkpoints').mkdir()
    (voc_dir / '.ipynb_checkpoints' / 'x-checkpoint.txt').write_text('lab')
    make_sample_voc(tmp_path, 2, 2, seed=0)
    assert len(list(voc_dir.glob('JPEGImages/*.jpg'))) == 4


def test_the_lock_is_released_by_an_interrupt(tmp_path):
    from d2lfcn.folder_lock import in_use_by, locked_folder
    with pytest.raises(KeyboardInterrupt):
        with locked_folder(tmp_path):
            assert in_use_by(tmp_path)
            raise KeyboardInterrupt
    assert in_use_by(tmp_path) is None


def test_a_file_system_without_locks_warns_and_trains(tmp_path, monkeypatch):
    import errno

    from d2lfcn import folder_lock

    def no_locks(*args):
        raise OSError(errno.ENOLCK, 'No locks available')
    monkeypatch.setattr(folder_lock.fcntl, 'flock', no_locks)
    with pytest.warns(UserWarning, match='no file locks'):
        with folder_lock.locked_folder(tmp_path):
            pass
    assert folder_lock.in_use_by(tmp_path) is None


def test_leftovers_of_this_process_or_a_day_old_are_cleaned(tmp_path):
    """A pid in use may belong to a new process (containers, kernels): a
    leftover older than a day is removed anyway."""
    import time

    from d2lfcn.checkpoints import _clean_leftovers
    from d2lfcn.folder_lock import STALE_HOURS
    live = os.getppid()
    old = tmp_path / f'.epoch-0003.{live}.partial'
    ours = tmp_path / f'.epoch-0004.{os.getpid()}.partial'
    fresh = tmp_path / f'.epoch-0005.{live}.partial'
    for folder in (old, ours, fresh):
        folder.mkdir()
    stale = time.time() - (STALE_HOURS + 1) * 3600
    os.utime(old, (stale, stale))
    _clean_leftovers(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]


def test_an_error_line_keeps_a_message_that_looks_like_a_file_line():
    assert validate.error_line(ValueError('File "x.png" is corrupt')) == \
        'File "x.png" is corrupt'
    assert validate.error_line(ValueError('\n\n')) == 'ValueError'
