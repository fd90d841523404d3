"""Benchmark: which design of the sample dataset needs what FCN is for.

For each design of the generated classes, builds a training set (seed 0)
and a held-out validation set (seed 1, as bench_learning.py), then scores
on the whole validation images:
- the colour lookup at 8^3, 16^3 and 32^3 colour cells (the best is kept);
- patch nets (d2lfcn.baselines.patch_net) that see windows of a few tens of
  pixels, trained with the course's recipe until their validation mean IoU
  stops rising (or --patch-epochs);
- FCN-32s and FCN-8s with chapter 5's recipe for --fcn-epochs epochs.
Prints one row per design and model. Not a test.

Designs (class c in 1-20: shape, texture, colour family). Every object is
drawn upright (within 11 degrees), as sample_data draws them since format 4:
- shapes: the sample set as the course ships it (format 4,
  sample_data.class_design): ten colour families with their own texture,
  each holding two classes that differ only in shape, so that a window sees
  the family but only the outline tells the pair apart;
- colours: the classes of format 3: every class its own colour family and
  texture, ten shapes, each used by two classes;
- similar: shapes, with pairs whose two shapes look alike up close.
Three more were measured with earlier code, which drew objects at any angle:
format 3 itself and the shapes design at any angle (commit 0a6ce44, its
--designs current,pairs), and marks, in which the two classes of a family
differ only in a small light or dark mark and any object takes any shape
(commit 7b0aadc, --designs marks).

    .venv/bin/python bench/bench_sample_designs.py [--designs shapes,colours]
        [--fcn-epochs 20] [--patch-epochs 20] [--windows 12,20,36]
        [--crop 128x160] [--batch-size 16]
"""
import argparse
import contextlib
import os
import time
from pathlib import Path

import d2lfcn  # first: it sets OMP_NUM_THREADS before MXNet loads
import mxnet as mx
import numpy as np

from bench_learning import colour_lookup   # next to this script
from d2lfcn import sample_data
from d2lfcn.baselines import patch_net


def colour_design(c):
    """Format 3 of the sample set: class c has its own colour family (hue
    18 (c - 1) degrees), TEXTURES[(c - 1) % 2] and SHAPES[(c - 1) % 10];
    each shape is shared by two classes of opposite colour families."""
    k = c - 1
    return sample_data.ClassDesign(sample_data.SHAPES[k % 10],
                                   sample_data.TEXTURES[k % 2], 18.0 * k)


def paired_design(shapes):
    """A class design of ten colour families: family k = (c - 1) // 2 has
    hue 36k and texture by k's parity, and its two classes get shapes
    shapes[2 (k % 5)] and shapes[2 (k % 5) + 1] (with sample_data.SHAPES,
    this is sample_data.class_design, the course's set)."""
    def design_of(c):
        k, member = divmod(c - 1, 2)
        return sample_data.ClassDesign(shapes[2 * (k % 5) + member],
                                       sample_data.TEXTURES[k % 2], 36.0 * k)
    return design_of


SIMILAR = ('ellipse', 'hexagon', 'rectangle', 'diamond', 'triangle', 'star',
           'ring', 'crescent', 'cross', 'L-shape')
"""Pairs whose two shapes look alike up close (rounded, four corners,
spiky, curved with a hollow, right angles), so that a small window sees
even less of what tells them apart."""


DESIGNS = {'colours': colour_design,
           'shapes': sample_data.class_design,
           'similar': paired_design(SIMILAR)}


@contextlib.contextmanager
def design(name):
    """Draw with another class design (only while generating)."""
    original = sample_data.class_design
    sample_data.class_design = DESIGNS[name]
    try:
        yield
    finally:
        sample_data.class_design = original


def best_colour_lookup(train_voc, val_voc):
    """(mean IoU, bins) of the best colour lookup of 8^3, 16^3, 32^3 cells."""
    return max((colour_lookup(train_voc, val_voc, bins), bins)
               for bins in (8, 16, 32))


def train_model(net, train_voc, val, epochs, lr, args):
    mx.random.seed(0)
    np.random.seed(0)
    train_iter, _ = d2lfcn.load_data_voc(args.batch_size, args.crop,
                                         train_voc, flip=True)
    trainer = d2lfcn.poly_trainer(net.collect_params(), lr,
                                  epochs * len(train_iter))
    history = d2lfcn.train(net, train_iter, val, d2lfcn.SegmentationLoss(),
                           trainer, epochs, [mx.cpu()], plot=False)
    curve = [h['val_mean_iou'] for h in history]
    return max(curve), curve[-1], sum(h['seconds'] for h in history), curve


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--designs', default='shapes')
    parser.add_argument('--fcn-epochs', type=int, default=20)
    parser.add_argument('--patch-epochs', type=int, default=20)
    parser.add_argument('--windows', default='12,20,36')
    parser.add_argument('--variants', default='32s,8s')
    parser.add_argument('--crop', default='128x160')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=150)
    parser.add_argument('--data', default=str(d2lfcn.DATA_DIR / 'designs'))
    args = parser.parse_args()
    args.crop = tuple(int(v) for v in args.crop.split('x'))
    print(f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}; '
          f'{args.num_train} train (seed 0), {args.num_val} val (seed 1); '
          f'FCN {args.fcn_epochs} epochs, patch nets {args.patch_epochs}',
          flush=True)
    for name in args.designs.split(','):
        root = Path(args.data) / name
        with design(name):
            start = time.time()
            train_voc = d2lfcn.make_sample_voc(root / 'seed0', args.num_train,
                                               10)
            val_voc = d2lfcn.make_sample_voc(root / 'seed1', 1, args.num_val,
                                             seed=1)
            print(f'{name}: generated in {time.time() - start:.0f} s',
                  flush=True)
        val = d2lfcn.VOCWholeImages(False, val_voc)
        miou, bins = best_colour_lookup(train_voc, val_voc)
        print(f'{name:8s} colour lookup {bins}^3          best {miou:.3f}',
              flush=True)
        for window in map(int, args.windows.split(',')):
            best, last, seconds, curve = train_model(
                patch_net(window), train_voc, val, args.patch_epochs, 3e-3,
                args)
            print(f'{name:8s} patch net {window:3d} px   best {best:.3f} last '
                  f'{last:.3f} in {seconds:.0f} s; curve '
                  + ' '.join(f'{m:.2f}' for m in curve), flush=True)
        for variant in args.variants.split(','):
            net = d2lfcn.fcn_resnet18(21, pretrained=False, variant=variant)
            best, last, seconds, curve = train_model(
                net, train_voc, val, args.fcn_epochs, 1e-3, args)
            print(f'{name:8s} FCN-{variant:3s}          best {best:.3f} last '
                  f'{last:.3f} in {seconds:.0f} s; curve '
                  + ' '.join(f'{m:.2f}' for m in curve), flush=True)


if __name__ == '__main__':
    main()
