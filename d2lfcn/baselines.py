"""Baselines that see less than FCN: a colour lookup and a patch net.

The colour lookup sees one pixel: the RGB cube is cut into bins**3 cells,
and every cell predicts the class that its training pixels have most often.
The patch net sees a small window (tens of pixels) of the image. An FCN
must do far better than both, or the dataset is solved by colour, or by
texture and local shape, and says nothing about what FCN's depth is for.
"""
import contextlib
import io

import mxnet as mx
import numpy as np
from mxnet import init, nd
from mxnet.gluon import nn

from d2lfcn import validate
from d2lfcn.devices import checked_devices
from d2lfcn.model import bilinear_upsampler
from d2lfcn.training import SegmentationLoss, poly_trainer, train


def _cells(image, bins):
    """Cell index (h, w) int64 of every pixel of an (h, w, 3) uint8 image."""
    q = (np.asarray(image, dtype=np.int64) * bins) // 256
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


def fit_colour_lookup(images, labels, num_classes=21, bins=16,
                      ignore_index=255):
    """The majority class of every colour cell of the training pixels.

    images: (h, w, 3) uint8 arrays; labels: (h, w) class indices (pixels
    labelled ignore_index are not counted). Returns an int64 array of
    bins**3 classes; a cell no training pixel fell in predicts class 0.
    """
    counts = np.zeros((bins ** 3, num_classes), np.int64)
    for image, label in zip(images, labels):
        label = np.asarray(label)
        scored = label != ignore_index
        np.add.at(counts, (_cells(image, bins)[scored],
                           label[scored].astype(np.int64)), 1)
    return counts.argmax(axis=1)


def predict_colour_lookup(table, image):
    """Class indices (h, w) of an (h, w, 3) uint8 image by its colours."""
    bins = round(len(table) ** (1 / 3))
    return table[_cells(image, bins)]


class PatchNet(nn.HybridBlock):
    """A segmentation net that sees only a small window of the image.

    A 4x4 convolution with stride 4, then k = (window - 4) / 8 3x3
    convolutions on that stride-4 map (each with BatchNorm and ReLU), a 1x1
    score layer and a fixed bilinear upsampling by 4. Cell j of the stride-4
    map covers pixels 4j to 4j + 3 and sees a window of 4 + 8k pixels
    around their centre, 4j + 1.5, where the upsampler (the d2l head of
    chapter 4, which centres cell j there) puts its scores. What a window of
    that size shows (colour, texture, a piece of outline) is all it can use:
    the baseline that tells whether a dataset needs FCN's depth.
    (N, 3, H, W) -> (N, num_classes, H, W) for any H, W >= 4.
    """

    def __init__(self, window=20, num_classes=21, channels=32, **kwargs):
        super().__init__(**kwargs)
        window = validate.positive_int(window, 'window')
        if window < 4 or (window - 4) % 8:
            raise ValueError(f'window must be 4 + 8k pixels (12, 20, 28, '
                             f'36, ..., 68, ...), got {window}')
        self.window = window
        self.num_classes = validate.num_classes(num_classes)
        with self.name_scope():
            self.features = nn.HybridSequential()
            self.features.add(nn.Conv2D(channels, 4, strides=4),
                              nn.BatchNorm(), nn.Activation('relu'))
            for _ in range((window - 4) // 8):
                self.features.add(nn.Conv2D(channels, 3, padding=1),
                                  nn.BatchNorm(), nn.Activation('relu'))
            self.score = nn.Conv2D(self.num_classes, 1)
            self.up = bilinear_upsampler(self.num_classes, 4, aligned=False,
                                         learnable=False)

    def hybrid_forward(self, F, x):
        scores = self.up(self.score(self.features(x)))  # 4 * floor(H/4) rows
        # the up to 3 rows and columns past the last whole cell: the edge
        scores = F.pad(scores, mode='edge', pad_width=(0, 0, 0, 0, 0, 3, 0, 3))
        return F.slice_like(scores, x, axes=(2, 3))


def patch_net(window=20, num_classes=21, channels=32, devices=None):
    """A PatchNet (see there) with Xavier weights and a bilinear upsampler,
    on `devices` (default: the CPU); train it with d2lfcn.train."""
    net = PatchNet(window, num_classes, channels)
    devices = checked_devices(devices or mx.cpu())
    net.initialize(init.Xavier(), ctx=devices)
    net(nd.zeros((1, 3, 8, 8), ctx=devices[0]))
    return net


def train_patch_net(window, train_iter, val_data, devices, num_epochs,
                    checkpoint_dir=None):
    """Train patch_net(window) with chapter 5's recipe: seed 0, the FCN loss
    and loop, Adam with the poly schedule from 3e-3 (the rate that suits
    these small nets). val_data is scored after every epoch. With a
    checkpoint_dir the run is saved there and a finished run is reused
    (resume=True). Returns (net, history); history[k]['val_mean_iou'] is
    the validation mean IoU after epoch k + 1."""
    mx.random.seed(0)
    np.random.seed(0)
    net = patch_net(window, devices=devices)
    trainer = poly_trainer(net.collect_params(), 3e-3,
                           num_epochs * len(train_iter))
    with contextlib.redirect_stdout(io.StringIO()):    # a line per epoch
        history = train(net, train_iter, val_data, SegmentationLoss(),
                        trainer, num_epochs, devices, plot=False,
                        checkpoint_dir=checkpoint_dir,
                        resume=checkpoint_dir is not None)
    return net, history
