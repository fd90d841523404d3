"""Chapter 5: training on one or several devices.

A batch of B images is split into one slice per device; every device runs
the forward and backward pass of its slice, and the Trainer sums the
gradients over the devices before the update. Metrics and losses stay on the
devices as NDArrays until the end of the epoch, so the loop never waits for
a GPU in the middle of an epoch.
"""
# Taught in notebooks/05_training.ipynb (SegmentationLoss): edit there, then
# run python tools/sync_code.py. Not written out in a notebook: poly_trainer,
# evaluate, average_running_stats, train.
import sys
import time
import warnings

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

from d2lfcn import validate
from d2lfcn.checkpoint_reading import report_new_batch_shape
from d2lfcn.checkpoints import prepare_checkpoints, save_checkpoint
from d2lfcn.devices import checked_devices
from d2lfcn.folder_lock import locked_folder
from d2lfcn.metrics import SegMetric
from d2lfcn.live_plot import plot_history


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
    devices = checked_devices(devices)
    params = net.collect_params()
    if any(p.list_ctx() != devices for p in params.values()):
        params.reset_ctx(devices)     # the net must live where it runs
    return _score(net, data, devices,
                  num_classes or getattr(net, 'num_classes', 21))


def _score(net, data, devices, num_classes):
    """evaluate() without its checks, for train(), which has made them."""
    metric = SegMetric(num_classes)
    for i, (X, y) in enumerate(data):
        device = devices[i % len(devices)]
        X, y = _as_batch(X, 4), _as_batch(y, 3)
        metric.update(net(X.as_in_context(device)), y.as_in_context(device))
    metric.wait()                # nothing left queued when it returns
    return metric


def average_running_stats(net):
    """Give every device the mean of the devices' BatchNorm running stats.

    Gradients are summed over the devices, so weights stay equal; running
    means and variances are not gradients, and each device has seen only its
    own slices of the batches. Averaging them makes evaluation the same on
    every device (and equal to what save_parameters writes).
    """
    for param in net.collect_params().values():
        running = param.name.endswith(('running_mean', 'running_var'))
        copies = param.list_data() if running else []
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
    from `trainer`, and a change of them is printed. The folder is locked
    while training: a train() of another process on it touches nothing in
    it and fails at once (FolderInUseError), or, with resume=True, says so
    and waits for that run to end, then continues from where it stopped.
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
    devices = checked_devices(devices)
    num_epochs = validate.int_at_least(num_epochs, 'num_epochs', 0)
    net.collect_params().reset_ctx(devices)
    net.hybridize(static_alloc=True)
    if isinstance(loss, gluon.HybridBlock):     # e.g. SegmentationLoss
        loss.hybridize(static_alloc=True)
    use_amp = _setup_amp(amp, devices, trainer)
    with locked_folder(checkpoint_dir, wait=resume):    # one run per folder
        history, resumed = ([], {}) if checkpoint_dir is None else \
            prepare_checkpoints(checkpoint_dir, net, trainer, resume, devices)
        figure = _run_epochs(net, train_iter, test_iter, loss, trainer,
                             num_epochs, devices, checkpoint_dir, use_amp,
                             plot, history, resumed.get('batch_shape'))
    if figure is not None:
        import matplotlib.pyplot as plt
        plt.close(figure)
    return history


def _run_epochs(net, train_iter, test_iter, loss, trainer, num_epochs,
                devices, checkpoint_dir, use_amp, plot, history,
                resumed_shape):
    """Train from epoch len(history) to num_epochs, appending to history;
    returns the live plot's figure (or None). resumed_shape: the batch shape
    of the run resumed (None: a new run, or not recorded)."""
    start = len(history)
    in_notebook = _in_notebook()
    plot = in_notebook if plot is None else plot
    figure = handle = None
    for epoch in range(start, num_epochs):
        batches = train_iter if in_notebook else _progress(
            train_iter, f'epoch {epoch + 1}/{num_epochs}')
        scores, seconds, images, batch_shape = _train_epoch(
            net, batches, loss, trainer, devices, use_amp, epoch,
            check_labels=epoch == start,
            resumed_shape=resumed_shape if epoch == start else None)
        row = {'epoch': epoch + 1, **scores}
        if test_iter is not None:
            got = _score(net, test_iter, devices, net.num_classes).get()
            row.update(val_pixel_accuracy=got['pixel_accuracy'],
                       val_mean_iou=got['mean_iou'])
        row.update(seconds=seconds, images_per_second=images / seconds)
        history.append(row)
        if checkpoint_dir is not None:
            save_checkpoint(checkpoint_dir, net, trainer, history,
                            batch_shape=batch_shape)
        if plot:
            figure, handle = plot_history(history, num_epochs, figure, handle)
        print(_epoch_line(row), flush=True)
    if plot and history and figure is None:     # a finished run, reused
        figure, handle = plot_history(history, num_epochs, figure, handle)
    return figure


def _train_epoch(net, batches, loss, trainer, devices, use_amp, epoch,
                 check_labels, resumed_shape=None):
    """One pass over batches: each batch is split over the devices, its
    losses backpropagated and the trainer stepped. Returns ({train_loss,
    train_pixel_accuracy, train_mean_iou}, seconds, images, batch_shape):
    the epoch's scores on its batches, its wall time, its number of images
    and the shape of its first batch X (B, 3, h, w).
    check_labels: refuse labels the net has no class for after the first
    batch (once per run is enough). resumed_shape: say so when the first
    batch differs from it (a resumed run with another batch size or crop)."""
    t0, images = time.time(), 0
    metric = SegMetric(net.num_classes)
    loss_sums = []
    pending, batch = None, 0   # the previous batch's losses: checked late
    batch_shape = None
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
        if batch == 1:
            batch_shape = list(X.shape)
            report_new_batch_shape(batch_shape, resumed_shape)
        if check_labels and batch == 1:
            metric.raise_if_invalid()   # labels the net has no class for
        # waiting for the previous batch keeps this one queued
        _stop_if_not_finite(pending, epoch + 1, batch - 1, trainer)
        pending = [l.sum() for l in losses]
        loss_sums += pending
    _stop_if_not_finite(pending, epoch + 1, batch, trainer)
    average_running_stats(net)
    train_loss = sum(l.asscalar() for l in loss_sums) / max(images, 1)
    seconds = time.time() - t0
    got = metric.get()
    if np.isnan(got['pixel_accuracy']):     # no pixel was counted
        raise ValueError('no pixel of the training data is labelled (every '
                         'label is 255, the ignore value): check the '
                         'label files, or the crops, which may all fall '
                         'into an ignored region')
    return ({'train_loss': train_loss,
             'train_pixel_accuracy': got['pixel_accuracy'],
             'train_mean_iou': got['mean_iou']}, seconds, images,
            batch_shape)


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
