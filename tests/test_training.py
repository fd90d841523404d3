"""The training loop on two CPU contexts, the loss, evaluation, devices and
checkpoints."""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

from helpers import toy_segmentation
from d2lfcn import checkpoints, devices
from d2lfcn.checkpoints import list_checkpoints, load_checkpoint
from d2lfcn.devices import checked_devices
from d2lfcn.model import fcn_resnet18
from d2lfcn.training import SegmentationLoss, evaluate, train

DEVICES = [mx.cpu(0), mx.cpu(1)]


def make_run(variant='32s', seed=0, lr=0.05):
    mx.random.seed(seed)
    np.random.seed(seed)
    net = fcn_resnet18(3, pretrained=False, variant=variant, devices=DEVICES)
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': lr, 'momentum': 0.9,
                             'wd': 1e-4})
    train_iter = gluon.data.DataLoader(toy_segmentation(16), 4, shuffle=True,
                                       last_batch='discard')
    return net, trainer, train_iter


@pytest.mark.slow
@pytest.mark.parametrize('variant', ['32s', '16s', '8s'])
def test_loss_falls_on_two_devices(variant):
    net, trainer, train_iter = make_run(variant)
    history = train(net, train_iter, toy_segmentation(4, 50, 70, seed=1),
                    SegmentationLoss(), trainer, 4, DEVICES, plot=False)
    losses = [h['train_loss'] for h in history]
    assert len(history) == 4
    assert np.mean(losses[-2:]) < 0.8 * losses[0], losses
    for p in net.collect_params().values():
        assert p.list_ctx() == DEVICES
        a, b = (d.asnumpy() for d in p.list_data())
        # weights by summed gradients, BatchNorm statistics by averaging
        np.testing.assert_array_equal(a, b)
    for key in ('val_pixel_accuracy', 'val_mean_iou', 'train_mean_iou',
                'images_per_second', 'seconds'):
        assert all(np.isfinite(h[key]) for h in history)


def test_segmentation_loss_ignores_255():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 4, 3, 5)).astype('float32')
    label = rng.integers(0, 4, (2, 3, 5)).astype('float32')
    label[0, 0] = 255
    label[1] = 255                                   # all ignored
    got = SegmentationLoss()(nd.array(scores), nd.array(label)).asnumpy()
    logp = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    valid = label[0] != 255
    rows, cols = np.nonzero(valid)
    expected0 = -logp[0, label[0][valid].astype(int), rows, cols].mean()
    np.testing.assert_allclose(got, [expected0, 0], rtol=1e-5)
    # changing the scores of ignored pixels changes nothing
    scores[0, :, 0] += 100
    again = SegmentationLoss()(nd.array(scores), nd.array(label)).asnumpy()
    np.testing.assert_allclose(again, got, rtol=1e-5)


@pytest.mark.parametrize('hybridize', [False, True])
def test_segmentation_loss_gradient_is_softmax_minus_one_hot(hybridize):
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(2, 5, 4, 6)).astype('float32')
    label = rng.integers(0, 5, (2, 4, 6)).astype('float32')
    label[0, :, :2] = 255
    loss = SegmentationLoss()
    if hybridize:
        loss.hybridize(static_alloc=True)
    x = nd.array(scores)
    x.attach_grad()
    with autograd.record():
        value = loss(x, nd.array(label))
    value.backward()
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    valid = label != 255
    one_hot = np.eye(5)[np.where(valid, label, 0).astype(int)]   # N, H, W, C
    expected = (p - one_hot.transpose(0, 3, 1, 2)) * valid[:, None]
    expected /= valid.sum(axis=(1, 2))[:, None, None, None]
    np.testing.assert_allclose(x.grad.asnumpy(), expected, atol=1e-6)


def test_evaluate_scores_whole_images_of_any_size():
    net = fcn_resnet18(3, pretrained=False)
    data = [(nd.random.normal(shape=(3, h, w)), nd.zeros((h, w)))
            for h, w in ((40, 50), (33, 71), (64, 64))]
    metric = evaluate(net, data, DEVICES)
    assert metric.confusion.sum() == 40 * 50 + 33 * 71 + 64 * 64


def test_devices_are_checked():
    assert checked_devices(mx.cpu()) == [mx.cpu()]
    assert checked_devices(['cpu', 'cpu:1']) == DEVICES
    with pytest.raises(ValueError, match='gpu.7. does not exist'):
        checked_devices([mx.gpu(7)])
    with pytest.raises(ValueError, match="unknown device 'tpu0'"):
        checked_devices(['tpu0'])
    with pytest.raises(ValueError, match='devices is empty'):
        checked_devices([])
    with pytest.raises(ValueError, match='lists a device twice'):
        checked_devices([mx.cpu(0), mx.cpu(0)])
    with pytest.raises(TypeError, match='must be MXNet contexts'):
        checked_devices([0])



@pytest.mark.parametrize('num_gpus, all_devices, gpu1', [
    (0, [mx.cpu()], mx.cpu()),
    (1, [mx.gpu(0)], mx.cpu()),
    (2, [mx.gpu(0), mx.gpu(1)], mx.gpu(1))])
def test_try_gpu_falls_back_to_the_cpu(monkeypatch, num_gpus, all_devices,
                                       gpu1):
    monkeypatch.setattr(mx.context, 'num_gpus', lambda: num_gpus)
    assert devices.try_all_gpus() == all_devices
    assert devices.try_gpu(1) == gpu1


def test_amp_is_off_on_the_cpu():
    net, trainer, train_iter = make_run()
    with pytest.warns(UserWarning, match='amp=True needs GPUs'):
        history = train(net, train_iter, None, SegmentationLoss(), trainer,
                        1, DEVICES, amp=True, plot=False)
    assert len(history) == 1


@pytest.mark.slow
def test_checkpoints_resume_and_never_overwrite(tmp_path):
    ckpt = tmp_path / 'ckpt'
    net, trainer, train_iter = make_run()
    first = train(net, train_iter, None, SegmentationLoss(), trainer, 2,
                  DEVICES, checkpoint_dir=ckpt, plot=False)
    assert [p.name for p in list_checkpoints(ckpt)] == ['epoch-0001',
                                                        'epoch-0002']
    saved = {k: v.data(mx.cpu(0)).asnumpy()
             for k, v in net._collect_params_with_prefix().items()}
    # a second run into the same folder must ask before overwriting
    net2, trainer2, _ = make_run(seed=5)
    with pytest.raises(FileExistsError, match='pass resume=True'):
        train(net2, train_iter, None, SegmentationLoss(), trainer2, 3,
              DEVICES, checkpoint_dir=ckpt, plot=False)
    # a run killed while writing epoch 3 leaves a partial folder behind
    partial = ckpt / '.epoch-0003.12345.partial'
    partial.mkdir()
    (partial / 'net.params').write_bytes(b'half')
    history = train(net2, train_iter, None, SegmentationLoss(), trainer2, 3,
                    DEVICES, checkpoint_dir=ckpt, resume=True, plot=False)
    assert [h['epoch'] for h in history] == [1, 2, 3]
    assert history[:2] == first
    assert not partial.exists()
    # resumed from epoch 2's weights, not from net2's own random start
    loaded = fcn_resnet18(3, pretrained=False)
    assert load_checkpoint(ckpt / 'epoch-0002', loaded) == first
    for k, v in loaded._collect_params_with_prefix().items():
        np.testing.assert_array_equal(v.data().asnumpy(), saved[k])
    # only the newest two are kept
    assert [p.name for p in list_checkpoints(ckpt)] == ['epoch-0002',
                                                        'epoch-0003']
    meta = json.loads((ckpt / 'epoch-0003' / 'meta.json').read_text())
    assert meta['epoch'] == 3 and meta['num_classes'] == 3


def test_bad_checkpoints_are_named(tmp_path):
    ckpt = tmp_path / 'ckpt'
    net, trainer, train_iter = make_run()
    train(net, train_iter, None, SegmentationLoss(), trainer, 1, DEVICES,
          checkpoint_dir=ckpt, plot=False)
    good = ckpt / 'epoch-0001'
    with pytest.raises(ValueError, match='trained for 3 classes, the model '
                                         'has 21'):
        load_checkpoint(good, fcn_resnet18(21, pretrained=False))
    with pytest.raises(ValueError, match='parameters of another model'):
        load_checkpoint(good, fcn_resnet18(3, pretrained=False,
                                           variant='8s'))
    with pytest.raises(ValueError, match=r"learn_final_upsampling False; "
                                         r".*up_final.weight \[3, 1, 63, 63\] "
                                         r"there, \[3, 3, 63, 63\] here"):
        load_checkpoint(good, fcn_resnet18(3, pretrained=False,
                                           learn_final_upsampling=True))
    with pytest.raises(FileNotFoundError, match='no checkpoint at'):
        load_checkpoint(tmp_path / 'nothing.params', net)
    corrupt = tmp_path / 'corrupt.params'
    corrupt.write_bytes(b'\x00garbage')
    with pytest.raises(ValueError, match='cannot load .*corrupt.params'):
        load_checkpoint(corrupt, fcn_resnet18(3, pretrained=False))
    (good / 'meta.json').write_text('{not json')
    with pytest.raises(ValueError, match='meta.json is missing or corrupt'):
        load_checkpoint(good, net)


def relabelled(dataset, fn):
    """The dataset with fn applied to every label (numpy (h, w) -> (h, w))."""
    return gluon.data.ArrayDataset(
        nd.stack(*[x for x, _ in dataset]),
        nd.array(np.stack([fn(y.asnumpy()) for _, y in dataset])))


def test_labels_the_net_has_no_class_for_stop_training_at_once(tmp_path):
    """Class 2 labels with a 2-class net: the loss would clip them to class
    1 and the metric would drop them; training must refuse instead."""
    mx.random.seed(0)
    net = fcn_resnet18(2, pretrained=False, devices=DEVICES)
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.01})
    data = gluon.data.DataLoader(toy_segmentation(8), 4)
    with pytest.raises(ValueError, match='a label holds class 2, but the '
                                         'metric counts num_classes=2'):
        train(net, data, None, SegmentationLoss(), trainer, 1, DEVICES,
              checkpoint_dir=tmp_path / 'ckpt', plot=False)
    assert trainer.optimizer.num_update == 1      # stopped at the 1st batch
    assert list_checkpoints(tmp_path / 'ckpt') == []


def test_a_diverging_run_stops_and_saves_nothing_non_finite(tmp_path):
    net, trainer, train_iter = make_run(lr=1e6)
    with pytest.raises(FloatingPointError, match='the run diverged'):
        train(net, train_iter, None, SegmentationLoss(), trainer, 3,
              DEVICES, checkpoint_dir=tmp_path / 'ckpt', plot=False)
    for folder in list_checkpoints(tmp_path / 'ckpt'):
        loaded = fcn_resnet18(3, pretrained=False)
        load_checkpoint(folder, loaded)
        for p in loaded.collect_params().values():
            assert np.isfinite(p.data().asnumpy()).all()


def test_no_checkpoint_of_non_finite_weights(tmp_path):
    net, trainer, _ = make_run()
    weight = next(iter(net.collect_params().values()))
    for d in weight.list_data():
        d[:] = float('nan')
    with pytest.raises(FloatingPointError, match='not saving a checkpoint'):
        checkpoints.save_checkpoint(tmp_path, net, trainer, [{'epoch': 1}])
    assert list_checkpoints(tmp_path) == []


def test_data_without_a_labelled_pixel_is_an_error():
    net, trainer, _ = make_run()
    data = gluon.data.DataLoader(
        relabelled(toy_segmentation(4), lambda y: np.full_like(y, 255)), 4)
    with pytest.raises(ValueError, match='no pixel of the training data is '
                                         'labelled'):
        train(net, data, None, SegmentationLoss(), trainer, 1, DEVICES,
              plot=False)


def test_resume_keeps_the_hyper_parameters_given_now(tmp_path, capsys):
    ckpt = tmp_path / 'ckpt'
    net, trainer, train_iter = make_run(lr=0.05)
    train(net, train_iter, None, SegmentationLoss(), trainer, 1, DEVICES,
          checkpoint_dir=ckpt, plot=False)
    updates = trainer.optimizer.num_update
    net2, trainer2, _ = make_run(lr=1e-4)
    load_checkpoint(list_checkpoints(ckpt)[-1], net2, trainer2, DEVICES)
    assert trainer2.learning_rate == 1e-4
    assert trainer2.optimizer.num_update == updates     # the state is back
    assert 'learning rate 0.05 -> 0.0001' in capsys.readouterr().out
    other = gluon.Trainer(net2.collect_params(), 'adam',
                          {'learning_rate': 1e-3})
    with pytest.raises(ValueError, match='state of a SGD optimizer, the '
                                         'trainer given now uses Adam'):
        load_checkpoint(list_checkpoints(ckpt)[-1], net2, other, DEVICES)
    (list_checkpoints(ckpt)[-1] / 'trainer.states').write_bytes(b'\x80\x04tru')
    with pytest.raises(ValueError, match='truncated or corrupt'):
        load_checkpoint(list_checkpoints(ckpt)[-1], net2, trainer2, DEVICES)


def test_a_failed_save_leaves_no_partial_checkpoint(tmp_path, monkeypatch):
    net, trainer, _ = make_run()

    def disk_full(fname):
        open(fname, 'wb').write(b'half')
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(trainer, 'save_states', disk_full)
    with pytest.raises(OSError, match='No space left'):
        checkpoints.save_checkpoint(tmp_path, net, trainer, [{'epoch': 1}])
    assert list(tmp_path.iterdir()) == []
