"""Chapter 5: training on one or several devices, with checkpoints.

A batch of B images is split into one slice per device; every device runs
the forward and backward pass of its slice, and the Trainer sums the
gradients over the devices before the update. Metrics and losses stay on the
devices as NDArrays until the end of the epoch, so the loop never waits for
a GPU in the middle of an epoch.
"""
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

import d2lfcn
from d2lfcn.metrics import SegMetric


def try_gpu(i=0):
    """GPU number i if it exists, else the CPU."""
    return mx.gpu(i) if mx.context.num_gpus() > i else mx.cpu()


def try_all_gpus():
    """All GPUs, or [mx.cpu()] when there are none."""
    return [mx.gpu(i) for i in range(mx.context.num_gpus())] or [mx.cpu()]


def check_devices(devices):
    """Return `devices` as a non-empty list of MXNet contexts that exist.

    Accepts one context, a list of them, or strings such as 'cpu', 'gpu0',
    'cpu:1' (see parse_device).
    """
    if isinstance(devices, (mx.Context, str)):
        devices = [devices]
    devices = [parse_device(d) if isinstance(d, str) else d
               for d in (devices or [])]
    if not devices:
        raise ValueError('devices is empty: pass e.g. d2lfcn.try_all_gpus()')
    for d in devices:
        if not isinstance(d, mx.Context):
            raise TypeError(f'devices must be MXNet contexts such as mx.cpu() '
                            f'or mx.gpu(0), got {d!r}')
        if d.device_type == 'gpu' and d.device_id >= mx.context.num_gpus():
            raise ValueError(f'{d} does not exist: this machine has '
                             f'{mx.context.num_gpus()} GPU(s); use '
                             f'd2lfcn.try_all_gpus()')
    if len(set(devices)) != len(devices):
        raise ValueError(f'devices lists a device twice: {devices}')
    return devices


def parse_device(text):
    """'cpu', 'cpu1', 'cpu:1', 'gpu', 'gpu0' or 'gpu:0' -> an MXNet context."""
    name = text.strip().lower().replace(':', '')
    kind, number = name.rstrip('0123456789'), name[len(name.rstrip('0123456789')):]
    if kind not in ('cpu', 'gpu'):
        raise ValueError(f'unknown device {text!r}: use cpu, cpu1, gpu0, '
                         f'gpu1, ...')
    return mx.Context(kind, int(number or 0))


class SegmentationLoss(gluon.HybridBlock):
    """Softmax cross-entropy per pixel that skips the `ignore_index` label.

    scores: (N, C, H, W); label: (N, H, W) class indices. Returns (N,): for
    each image, the mean loss over its pixels that are not ignored (0 for an
    image whose pixels are all ignored).
    """

    def __init__(self, ignore_index=255, **kwargs):
        super().__init__(**kwargs)
        self.ignore_index = ignore_index

    def hybrid_forward(self, F, scores, label):
        valid = label != self.ignore_index
        safe_label = F.where(valid, label, F.zeros_like(label))
        # classes last: (N, H, W, C), so each softmax reads adjacent numbers
        log_p = F.log_softmax(F.transpose(scores, axes=(0, 2, 3, 1)), axis=-1)
        nll = -F.pick(log_p, safe_label, axis=-1)
        per_image = F.sum(nll * valid, axis=(1, 2))
        return per_image / F.maximum(F.sum(valid, axis=(1, 2)), 1)


def poly_trainer(params, learning_rate, num_updates, wd=1e-4):
    """A gluon.Trainer with Adam whose learning rate falls from
    learning_rate to 0 over num_updates steps as (1 - t / num_updates)^0.9,
    the "poly" schedule; wd is the weight decay."""
    schedule = mx.lr_scheduler.PolyScheduler(num_updates, learning_rate,
                                             pwr=0.9)
    return gluon.Trainer(params, 'adam', {'learning_rate': learning_rate,
                                          'lr_scheduler': schedule, 'wd': wd})


def evaluate(net, data, devices, num_classes=None):
    """Score `net` on every image of `data`; returns a filled SegMetric.

    data: an iterable of (image, label): images (3, H, W) or batches
    (N, 3, H, W), labels (H, W) or (N, H, W), of any size (e.g. the whole
    validation images of d2lfcn.VOCWholeImages). Images go to the devices in
    turn; the metric is copied to the host once, at the end.
    """
    devices = check_devices(devices)
    params = net.collect_params()
    if any(p.list_ctx() != devices for p in params.values()):
        params.reset_ctx(devices)     # the net must live where it runs
    metric = SegMetric(num_classes or getattr(net, 'num_classes', 21))
    for i, (X, y) in enumerate(data):
        device = devices[i % len(devices)]
        X, y = _as_batch(X, 4), _as_batch(y, 3)
        metric.update(net(X.as_in_context(device)), y.as_in_context(device))
    return metric


def average_running_stats(net):
    """Give every device the mean of the devices' BatchNorm running stats.

    Gradients are summed over the devices, so weights stay equal; running
    means and variances are not gradients, and each device has seen only its
    own slices of the batches. Averaging them makes evaluation the same on
    every device (and equal to what save_parameters writes).
    """
    for param in net.collect_params().values():
        copies = param.list_data() if param.grad_req == 'null' else []
        if len(copies) > 1:
            mean = nd.add_n(*[c.as_in_context(copies[0].context)
                              for c in copies]) / len(copies)
            param.set_data(mean)


def _as_batch(x, ndim):
    x = x if isinstance(x, nd.NDArray) else nd.array(x)
    return x.expand_dims(0) if x.ndim == ndim - 1 else x


def train(net, train_iter, test_iter, loss, trainer, num_epochs, devices,
          checkpoint_dir=None, resume=False, amp=False, plot=None):
    """Train `net` for num_epochs epochs; return the history (list of dicts).

    train_iter: batches (X (B, 3, h, w), y (B, h, w)); test_iter: data for
    evaluate() (whole images or batches), or None. loss: e.g.
    SegmentationLoss(); trainer: a gluon.Trainer over net's parameters.
    net, and loss if it is a HybridBlock, are hybridized (static_alloc).
    devices: contexts (try_all_gpus()); each batch is split over them.
    checkpoint_dir: save net, trainer and history there after every epoch;
    resume=True continues from the last complete checkpoint in it: the
    weights and the optimizer's state (momentum, update count) come from the
    checkpoint, the hyper-parameters (learning rate, schedule, weight decay)
    from `trainer`, and a change of them is printed.
    Labels must be class indices below net.num_classes (or 255): anything
    else stops training at the first batch (ValueError), as does a loss that
    becomes NaN or inf (FloatingPointError); no checkpoint of non-finite
    weights is ever written.
    amp: mixed precision (float16) on GPUs; ignored with a warning on CPUs.
    plot: draw the curves live (default: in a notebook only; elsewhere a
    progress bar and one line per epoch are printed).
    Each history entry has epoch, train_loss, train_pixel_accuracy,
    train_mean_iou, val_pixel_accuracy, val_mean_iou, seconds and
    images_per_second (training images only).
    """
    devices = check_devices(devices)
    num_epochs = d2lfcn.validate.int_at_least(num_epochs, 'num_epochs', 0)
    net.collect_params().reset_ctx(devices)
    net.hybridize(static_alloc=True)
    if isinstance(loss, gluon.HybridBlock):     # e.g. SegmentationLoss
        loss.hybridize(static_alloc=True)
    use_amp = _setup_amp(amp, devices, trainer)
    history, start = [], 0
    if checkpoint_dir is not None:
        history = prepare_checkpoints(checkpoint_dir, net, trainer, resume,
                                      devices)
        start = len(history)
    in_notebook = _in_notebook()
    plot = in_notebook if plot is None else plot
    figure = handle = None
    for epoch in range(start, num_epochs):
        t0, images = time.time(), 0
        metric = SegMetric(net.num_classes)
        loss_sums = []
        batches = train_iter if in_notebook else _progress(
            train_iter, f'epoch {epoch + 1}/{num_epochs}')
        pending, batch = None, 0   # the previous batch's losses: checked late
        for batch, (X, y) in enumerate(batches, 1):
            used = devices[:min(len(devices), X.shape[0])]
            Xs = gluon.utils.split_and_load(X, used, even_split=False)
            ys = gluon.utils.split_and_load(y, used, even_split=False)
            with autograd.record():
                scores = [net(X_) for X_ in Xs]
                losses = [loss(s, y_) for s, y_ in zip(scores, ys)]
            if use_amp:
                from mxnet.contrib import amp as mx_amp
                with mx_amp.scale_loss(losses, trainer) as scaled:
                    autograd.backward(scaled)
            else:
                autograd.backward(losses)
            trainer.step(X.shape[0])
            images += X.shape[0]
            for s, y_ in zip(scores, ys):   # stays on the device
                metric.update(s, y_)
            if epoch == start and batch == 1:
                metric.raise_if_invalid()   # labels the net has no class for
            # waiting for the previous batch keeps this one queued
            _stop_if_not_finite(pending, epoch + 1, batch - 1, trainer)
            pending = [l.sum() for l in losses]
            loss_sums += pending
        _stop_if_not_finite(pending, epoch + 1, batch, trainer)
        average_running_stats(net)
        train_loss = sum(l.asscalar() for l in loss_sums) / max(images, 1)
        seconds = time.time() - t0
        row = {'epoch': epoch + 1, 'train_loss': train_loss}
        got = metric.get()
        if np.isnan(got['pixel_accuracy']):     # no pixel was counted
            raise ValueError('no pixel of the training data is labelled (every '
                             'label is 255, the ignore value): check the '
                             'label files, or the crops, which may all fall '
                             'into an ignored region')
        row.update(train_pixel_accuracy=got['pixel_accuracy'],
                   train_mean_iou=got['mean_iou'])
        if test_iter is not None:
            got = evaluate(net, test_iter, devices, net.num_classes).get()
            row.update(val_pixel_accuracy=got['pixel_accuracy'],
                       val_mean_iou=got['mean_iou'])
        row.update(seconds=seconds, images_per_second=images / seconds)
        history.append(row)
        if checkpoint_dir is not None:
            save_checkpoint(checkpoint_dir, net, trainer, history)
        if plot:
            figure, handle = _plot_live(history, num_epochs, figure, handle)
        print(_epoch_line(row), flush=True)
    if plot and history and figure is None:     # a finished run, reused
        figure, handle = _plot_live(history, num_epochs, figure, handle)
    if figure is not None:
        import matplotlib.pyplot as plt
        plt.close(figure)
    return history


def _stop_if_not_finite(losses, epoch, batch, trainer):
    """FloatingPointError if the summed losses of a batch are inf or NaN."""
    if not losses:
        return
    value = sum(l.asscalar() for l in losses)
    if not np.isfinite(value):
        raise FloatingPointError(
            f'the training loss is {value} in epoch {epoch}, batch {batch}: '
            f'the run diverged, or the data hold NaN or inf. Lower the '
            f'learning rate (it is {trainer.learning_rate:g} now); nothing of '
            f'this epoch was saved')


def _epoch_line(row):
    line = (f"epoch {row['epoch']}: loss {row['train_loss']:.3f}, train "
            f"pixel acc {row['train_pixel_accuracy']:.3f}, mIoU "
            f"{row['train_mean_iou']:.3f}")
    if 'val_mean_iou' in row:
        line += (f"; val pixel acc {row['val_pixel_accuracy']:.3f}, mIoU "
                 f"{row['val_mean_iou']:.3f}")
    return line + (f"; {row['seconds']:.1f} s, "
                   f"{row['images_per_second']:.1f} images/s")


def _in_notebook():
    shell = getattr(sys.modules.get('IPython'), 'get_ipython', lambda: None)()
    return type(shell).__name__ == 'ZMQInteractiveShell'


def _progress(iterable, description):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=description, leave=False, file=sys.stdout)


def _plot_live(history, num_epochs, figure, handle):
    """Redraw loss, pixel accuracy and mean IoU per epoch in place (one
    display that is updated, so other output of the cell stays)."""
    import matplotlib.pyplot as plt
    from IPython import display
    if figure is None:
        figure = plt.figure(figsize=(9, 3))
    figure.clf()
    axes = figure.subplots(1, 3)
    epochs = [h['epoch'] for h in history]
    axes[0].plot(epochs, [h['train_loss'] for h in history], 'o-',
                 label='train')
    axes[0].set_title('loss')
    for ax, key in ((axes[1], 'pixel_accuracy'), (axes[2], 'mean_iou')):
        ax.plot(epochs, [h[f'train_{key}'] for h in history], 'o-',
                label='train crops')
        if f'val_{key}' in history[0]:
            ax.plot(epochs, [h[f'val_{key}'] for h in history], 's--',
                    label='val whole images')
        ax.set_title(key.replace('_', ' '))
        ax.set_ylim(0, 1)
    for ax in axes:
        ax.set_xlim(0.5, num_epochs + 0.5)
        ax.set_xlabel('epoch')
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    if handle is None:
        handle = display.display(figure, display_id=True)
    else:
        handle.update(figure)
    return figure, handle


def _setup_amp(amp, devices, trainer):
    if not amp:
        return False
    if any(d.device_type != 'gpu' for d in devices):
        warnings.warn('amp=True needs GPUs; training in float32 on the CPU')
        return False
    from mxnet.contrib import amp as mx_amp
    if not getattr(mx_amp.amp, '_amp_initialized', False):
        mx_amp.init()
    mx_amp.init_trainer(trainer)
    return True


# ---- checkpoints ----------------------------------------------------------

CHECKPOINT_FILES = ('net.params', 'trainer.states', 'meta.json')


def _model_signature(net):
    """Parameter names and shapes: tells checkpoints of other models apart."""
    return {name: list(p.shape) for name, p in
            net._collect_params_with_prefix().items()}


def save_checkpoint(checkpoint_dir, net, trainer, history, keep=2):
    """Write epoch-NNNN/ with the net, the trainer and the history.

    The files go to a temporary folder first, which is renamed only when all
    of them are written: a run killed meanwhile leaves no checkpoint that
    looks complete. Only the newest `keep` checkpoints are kept.
    """
    bad = [name for name, p in net.collect_params().items()
           if nd.contrib.isfinite(p.list_data()[0]).min().asscalar() != 1]
    if bad:
        raise FloatingPointError(
            f'not saving a checkpoint: {len(bad)} parameters hold NaN or inf '
            f'(the first: {bad[0]}); the run diverged, lower the learning rate')
    root = Path(checkpoint_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f'epoch-{len(history):04d}'
    tmp = root / f'.{final.name}.{os.getpid()}.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        net.save_parameters(str(tmp / 'net.params'))
        trainer.save_states(str(tmp / 'trainer.states'))
        meta = {'epoch': len(history), 'history': history,
                'num_classes': getattr(net, 'num_classes', None),
                'variant': getattr(net, 'variant', None),
                'signature': _model_signature(net)}
        (tmp / 'meta.json').write_text(json.dumps(meta, indent=1))
        for name in CHECKPOINT_FILES:
            with open(tmp / name, 'rb') as f:
                os.fsync(f.fileno())
    except BaseException:   # a full disk, an interrupt: leave nothing behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():     # move the old one aside first: never a gap
        old = root / f'.{final.name}.{os.getpid()}.old'
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old)
    return final


def list_checkpoints(checkpoint_dir):
    """Complete checkpoint folders in checkpoint_dir, oldest first."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.glob('epoch-[0-9][0-9][0-9][0-9]')
             if all((p / f).is_file() for f in CHECKPOINT_FILES)]
    return sorted(found)


def read_checkpoint_meta(path):
    """The meta.json of a checkpoint folder as a dict ({} for a .params
    file); ValueError naming the file if it is missing or corrupt."""
    path = Path(path)
    if not path.is_dir():
        return {}
    try:
        return json.loads((path / 'meta.json').read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f'{path / "meta.json"} is missing or corrupt '
                         f'({e}); this is not a complete checkpoint') from None


def load_checkpoint(path, net, trainer=None, devices=None):
    """Load a checkpoint folder (or a net.params file) into net (and trainer).

    Returns the history stored with it ([] for a bare .params file). Raises
    ValueError naming the file when it is missing, corrupt or from a model
    with other layers or another number of classes.
    """
    path = Path(path)
    params = path / 'net.params' if path.is_dir() else path
    if not params.is_file():
        raise FileNotFoundError(f'no checkpoint at {params}')
    history = []
    if path.is_dir():
        meta = read_checkpoint_meta(path)
        if meta.get('num_classes') not in (None, net.num_classes):
            raise ValueError(
                f'{path} was trained for {meta["num_classes"]} classes, the '
                f'model has {net.num_classes}; build the model with '
                f'num_classes={meta["num_classes"]} (on the command line: '
                f'leave out --num-classes, or pass --num-classes '
                f'{meta["num_classes"]})')
        if meta.get('signature') and meta['signature'] != _model_signature(net):
            raise ValueError(
                f'{path} holds the parameters of another model (variant '
                f'{meta.get("variant")!r}); build the same FCN variant as '
                f'the one that was trained')
        history = meta.get('history', [])
    try:
        net.load_parameters(str(params), ctx=devices or [mx.cpu()])
    except Exception as e:
        raise ValueError(f'cannot load {params}: it is corrupt or from '
                         f'another model ({type(e).__name__}: '
                         f'{str(e).splitlines()[0][:200]})') from None
    if trainer is not None and path.is_dir():
        _load_trainer_states(trainer, path / 'trainer.states')
    return history


def _load_trainer_states(trainer, states_file):
    """Load the optimizer's state (momentum, moment estimates, the count of
    updates) from states_file, but keep the trainer's own hyper-parameters.

    Trainer.load_states replaces the trainer's optimizer by the pickled one,
    with the learning rate, schedule and weight decay it was saved with;
    a run resumed with other settings would silently train with the old
    ones. The settings given now win, and a change is reported.
    """
    given = trainer.optimizer
    try:
        trainer.load_states(str(states_file))
    except Exception as e:
        raise ValueError(f'cannot load {states_file}: it is truncated or '
                         f'corrupt ({type(e).__name__}); delete that '
                         f'checkpoint folder to resume from the one before '
                         f'it') from None
    loaded = trainer.optimizer
    if type(loaded) is not type(given):
        raise ValueError(
            f'{states_file} holds the state of a {type(loaded).__name__} '
            f'optimizer, the trainer given now uses {type(given).__name__}: '
            f'resume with the same optimizer, or start a new run in another '
            f'folder')
    given.num_update = loaded.num_update
    given._index_update_count = dict(loaded._index_update_count)
    given.param_dict = loaded.param_dict
    if trainer._update_on_kvstore:
        trainer._kvstore._updater.optimizer = given
    for updater in trainer._updaters:
        updater.optimizer = given
    trainer._optimizer = given
    changes = [f'{name} {old:g} -> {new:g}' for name, old, new in [
        ('learning rate', loaded.learning_rate, given.learning_rate),
        ('weight decay', loaded.wd, given.wd)] if old != new]
    if changes:
        print(f'resuming with the settings given now, not those of the '
              f'checkpoint: {", ".join(changes)}')


def prepare_checkpoints(checkpoint_dir, net, trainer, resume, devices):
    """Resume from the newest checkpoint, or make sure none is overwritten."""
    found = list_checkpoints(checkpoint_dir)
    for partial in Path(checkpoint_dir).glob('.epoch-*.partial'):
        shutil.rmtree(partial, ignore_errors=True)  # left by a killed run
    if not found:
        return []
    if not resume:
        raise FileExistsError(
            f'{checkpoint_dir} already holds checkpoints up to '
            f'{found[-1].name}; pass resume=True (--resume) to continue that '
            f'run, or choose another checkpoint_dir')
    print(f'resuming from {found[-1]}')
    return load_checkpoint(found[-1], net, trainer, devices)
