"""Benchmark: how fast FCN learns the sample dataset from random weights.

Trains FCN-32s and FCN-8s with the recipe of chapters 5 and 7 (random crops
of the training split of the sample dataset, Adam with the "poly" learning
rate schedule) and scores them after every epoch on *another* validation
set: the validation split of a sample dataset generated with another seed
than the one the notebooks use, so that nothing was tuned on it. Prints,
for each variant, the seconds of training (evaluation not counted) until
the validation mean IoU first reached 0.3, 0.5 and 0.7 (at the end of an
epoch), and the final mean IoU; then the colour-lookup baseline (the majority class
of every RGB colour cell, fitted on the training pixels) on the same
validation set. MXNet computes with OMP_NUM_THREADS threads (d2lfcn sets
it to every core unless it is set); --learn-final-upsampling trains the
learned 21-to-21 final upsampler instead of the course's fixed one. Not a
test.

    .venv/bin/python bench/bench_learning.py [--variants 32s,8s]
        [--epochs 16] [--crop 128x160] [--batch-size 16] [--lr 0.001]
        [--learn-final-upsampling] [--num-train 400] [--num-val 150]
"""
import argparse
import os
import time
from pathlib import Path

import d2lfcn  # first: it sets OMP_NUM_THREADS before MXNet loads
import mxnet as mx
import numpy as np

from d2lfcn.baselines import fit_colour_lookup, predict_colour_lookup
from d2lfcn.voc import read_voc_images
from d2lfcn.metrics import metrics_from_confusion
from d2lfcn.sample_data import SAMPLE_NUM_TRAIN, SAMPLE_NUM_VAL

THRESHOLDS = (0.3, 0.5, 0.7)


def learn(variant, train_voc, val, args):
    mx.random.seed(0)
    np.random.seed(0)
    train_iter, _ = d2lfcn.load_data_voc(args.batch_size, args.crop,
                                         train_voc, flip=True)
    net = d2lfcn.fcn_resnet18(
        21, pretrained=False, variant=variant,
        learn_final_upsampling=args.learn_final_upsampling)
    trainer = d2lfcn.poly_trainer(net.collect_params(), args.lr,
                                  args.epochs * len(train_iter))
    history = d2lfcn.train(net, train_iter, val, d2lfcn.SegmentationLoss(),
                           trainer, args.epochs, [mx.cpu()], plot=False)
    seconds = np.cumsum([h['seconds'] for h in history])
    miou = [h['val_mean_iou'] for h in history]
    reached = {}
    for t in THRESHOLDS:
        hit = [s for s, m in zip(seconds, miou) if m >= t]
        reached[t] = f'{hit[0]:.0f} s' if hit else 'not reached'
    return reached, miou[-1], seconds[-1], miou


def colour_lookup(train_voc, val_voc, bins=16):
    """Validation mean IoU of the colour lookup with bins**3 cells."""
    images, labels = read_voc_images(train_voc, True)
    table = fit_colour_lookup(images, labels, bins=bins)
    n = np.zeros((21, 21), np.int64)
    for image, label in zip(*read_voc_images(val_voc, False)):
        keep = label != 255
        pred = predict_colour_lookup(table, image)
        np.add.at(n, (label[keep].astype(int), pred[keep]), 1)
    return metrics_from_confusion(n)['mean_iou']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--variants', default='32s,8s')
    parser.add_argument('--epochs', type=int, default=16)
    parser.add_argument('--crop', default='128x160')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--lr', type=float, default=0.001)
    parser.add_argument('--learn-final-upsampling', action='store_true')
    parser.add_argument('--num-train', type=int, default=SAMPLE_NUM_TRAIN,
                        help='training images of the seed-0 sample set '
                             '(the notebooks use the default)')
    parser.add_argument('--num-val', type=int, default=150,
                        help='validation images of the seed-1 sample set')
    parser.add_argument('--data', default=str(d2lfcn.DATA_DIR / 'bench'))
    args = parser.parse_args()
    args.crop = tuple(int(v) for v in args.crop.split('x'))
    root = Path(args.data)
    # the notebooks' training set, and a validation set of another seed
    train_voc = d2lfcn.make_sample_voc(
        root / f'seed0_{args.num_train}', num_train=args.num_train,
        num_val=SAMPLE_NUM_VAL)
    val_voc = d2lfcn.make_sample_voc(root / f'seed1_{args.num_val}',
                                     num_train=1, num_val=args.num_val,
                                     seed=1)
    val = d2lfcn.VOCWholeImages(False, val_voc)
    print(f'crops {args.crop}, batch {args.batch_size}, {args.epochs} '
          f'epochs, Adam lr {args.lr} with poly schedule; validation: '
          f'{len(val)} images of seed 1; final upsampler '
          f'{"learned" if args.learn_final_upsampling else "fixed"}; '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}')
    rows = []
    for variant in args.variants.split(','):
        t0 = time.time()
        reached, final, train_s, curve = learn(variant, train_voc, val, args)
        rows.append((variant, reached, final, train_s, time.time() - t0))
        print(f'FCN-{variant} val mIoU per epoch:',
              ' '.join(f'{m:.3f}' for m in curve), flush=True)
    lookup = colour_lookup(train_voc, val_voc)
    print(f'\n{"model":16s}'
          + ''.join(f'{"to mIoU " + str(t):>14s}' for t in THRESHOLDS)
          + f'{"final mIoU":>12s}{"training s":>12s}{"wall s":>9s}')
    for variant, reached, final, train_s, wall in rows:
        print(f'{"FCN-" + variant:16s}'
              + ''.join(f'{reached[t]:>14s}' for t in THRESHOLDS)
              + f'{final:12.3f}{train_s:12.0f}{wall:9.0f}')
    print(f'{"colour lookup":16s}' + ' ' * 14 * len(THRESHOLDS)
          + f'{lookup:12.3f}')


if __name__ == '__main__':
    main()
