"""Rows of the second bad-input sweep (issue 24): each test failed before
its fix."""
import numpy as np
import pytest

from d2lfcn import validate
from d2lfcn.voc import label_to_rgb


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

    from d2lfcn.checkpoints import _load_trainer_states
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
