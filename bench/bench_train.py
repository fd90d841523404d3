"""Benchmark: training throughput of d2lfcn.train against d2l's train_ch13.

Both train FCN-32s on ResNet-18 v2 (the backbone's features, a 1x1 score
convolution and a transposed convolution by 32, randomly initialised)
with SGD on the same generated VOC-format data, the same crop, batch size,
number of epochs, devices and CPU threads (OMP_NUM_THREADS, default: every
core), each in its own subprocess:

- reference: d2l 1.0.3 as its FCN chapter uses it (numpy mode,
  d2l.VOCSegDataset, SoftmaxCrossEntropyLoss(axis=1), which averages over each image's pixels,
  d2l.train_ch13), with a one-batch test set so that its per-epoch
  evaluation costs little;
- ours, learned: d2lfcn.VOCSegDataset, d2lfcn.fcn_resnet18 with a learned
  21-to-21 final upsampler (the reference's layer, kernel 63 instead of 64),
  SegmentationLoss and d2lfcn.train (hybridized, static allocation, no
  per-batch sync), with no validation during training: the loop alone;
- ours, fixed: the same with the course's model, whose final upsampler is a
  fixed bilinear resize (one filter per class, no weight gradient): the
  loop and the model as the course trains them.

Throughput is training images per second of wall time over all epochs,
data loading included and evaluation left out (for the reference, the time
of its one-batch test pass is measured and subtracted; d2l's own figure,
which leaves data loading out too, is printed as well). Then one
full-image evaluation pass of d2lfcn.evaluate over the whole validation
images is timed. Not a test.

    pip install --no-deps d2l==1.0.3      # into .venv, for the reference
    .venv/bin/python bench/bench_train.py [--crop 128x160] [--batch-size 16]
        [--epochs 2] [--devices cpu0] [--num-train 160] [--repeat 3]
        [--threads N]

The defaults fit the sample dataset (images of about 190x250 pixels, half
VOC's scale): d2l's dataset drops every image smaller than the crop.

Each side runs --repeat times, alternating; the speed-up is printed for
every pair and as the median.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def reference(voc_dir, crop, batch_size, epochs, devices):
    import contextlib
    import io

    import mxnet as mx
    from d2l import mxnet as d2l
    from mxnet import gluon, init, npx
    from mxnet.gluon import nn
    npx.set_np()
    mx.random.seed(0)
    pretrained = gluon.model_zoo.vision.resnet18_v2(pretrained=False)
    net = nn.HybridSequential()
    for layer in pretrained.features[:-2]:
        net.add(layer)
    net.add(nn.Conv2D(21, kernel_size=1),
            nn.Conv2DTranspose(21, kernel_size=64, padding=16, strides=32))
    net.initialize(init.Xavier(), ctx=devices)
    train_set = d2l.VOCSegDataset(True, crop, voc_dir)
    test_set = d2l.VOCSegDataset(False, crop, voc_dir)
    train_iter = gluon.data.DataLoader(train_set, batch_size, shuffle=True,
                                       last_batch='discard')
    one_batch = gluon.data.DataLoader(
        gluon.data.SimpleDataset([test_set[i] for i in range(batch_size)]),
        batch_size)
    loss = gluon.loss.SoftmaxCrossEntropyLoss(axis=1)
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.1, 'wd': 1e-3})

    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        d2l.train_ch13(net, train_iter, one_batch, loss, trainer,
                       epochs, devices)
    seconds = time.perf_counter() - start
    # train_ch13 scores its test set after every epoch: time that pass on
    # its own and take it out, so that both sides count training only
    start = time.perf_counter()
    d2l.evaluate_accuracy_gpus(net, one_batch)
    seconds -= epochs * (time.perf_counter() - start)
    own = [line for line in out.getvalue().splitlines()
           if 'examples/sec' in line]
    return {'images': len(train_iter) * batch_size * epochs,
            'seconds': seconds, 'd2l_says': own[-1] if own else ''}


def ours(voc_dir, crop, batch_size, epochs, devices,
         learn_final_upsampling=False):
    import mxnet as mx
    from mxnet import gluon

    import d2lfcn
    from d2lfcn.training import SegmentationLoss, evaluate, train
    mx.random.seed(0)
    net = d2lfcn.fcn_resnet18(
        21, pretrained=False, devices=devices,
        learn_final_upsampling=learn_final_upsampling)
    train_iter = gluon.data.DataLoader(
        d2lfcn.VOCSegDataset(True, crop, voc_dir), batch_size, shuffle=True,
        last_batch='discard')
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.1, 'wd': 1e-3})
    start = time.perf_counter()
    history = train(net, train_iter, None, SegmentationLoss(), trainer,
                    epochs, devices, plot=False)
    seconds = time.perf_counter() - start
    val = d2lfcn.VOCWholeImages(False, voc_dir)
    start = time.perf_counter()
    metric = evaluate(net, val, devices)
    metric.get()
    eval_seconds = time.perf_counter() - start
    pixels = int(metric.confusion.sum())
    return {'images': len(train_iter) * batch_size * len(history),
            'seconds': seconds, 'eval_seconds': eval_seconds,
            'eval_images': len(val), 'eval_pixels': pixels}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--crop', default='128x160')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--devices', default='cpu0')
    parser.add_argument('--num-train', type=int, default=160)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP_NUM_THREADS of both sides (default: '
                             '$OMP_NUM_THREADS if set, else every core)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs of each, alternating (default 3)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f'--repeat must be at least 1, got {args.repeat}')
    crop = tuple(int(v) for v in args.crop.split('x'))
    if args.child:
        # the parent set OMP_NUM_THREADS for both sides alike; d2lfcn's
        # import only keeps it
        from d2lfcn.devices import checked_devices
        run = {'reference': reference, 'ours': ours,
               'ours-learned': lambda *a: ours(*a, learn_final_upsampling=True)
               }[args.child]
        result = run(os.environ['BENCH_VOC_DIR'], crop, args.batch_size,
                     args.epochs,
                     checked_devices(args.devices.split(',')))
        print('RESULT ' + json.dumps(result))
        return
    import d2lfcn
    from d2lfcn.threads import available_cores
    threads = str(args.threads or os.environ.get('OMP_NUM_THREADS')
                  or available_cores())
    voc_dir = d2lfcn.make_sample_voc(
        d2lfcn.DATA_DIR / f'bench_voc_{args.num_train}_{args.num_val}',
        args.num_train, args.num_val)
    print(f'data: {voc_dir} ({args.num_train} train, {args.num_val} val), '
          f'crop {args.crop}, batch {args.batch_size}, {args.epochs} epochs, '
          f'devices {args.devices}, OMP_NUM_THREADS={threads} on every side')
    sides = ('reference', 'ours-learned', 'ours')
    speeds = {impl: [] for impl in sides}
    for run in range(args.repeat):       # alternate, so drift hits all
        for impl in sides:
            proc = subprocess.run(
                [sys.executable, __file__, '--child', impl, '--crop',
                 args.crop, '--batch-size', str(args.batch_size), '--epochs',
                 str(args.epochs), '--devices', args.devices],
                capture_output=True, text=True,
                env=dict(os.environ, BENCH_VOC_DIR=str(voc_dir),
                         OMP_NUM_THREADS=threads))
            lines = [l for l in proc.stdout.splitlines()
                     if l.startswith('RESULT ')]
            if proc.returncode or not lines:
                sys.exit(f'{impl} failed:\n{proc.stderr[-3000:]}')
            r = json.loads(lines[-1][7:])
            speeds[impl].append(r['images'] / r['seconds'])
            if impl == 'ours':
                our = r
            print(f'run {run + 1} {impl:12s}: {r["images"]} training images '
                  f'in {r["seconds"]:.1f} s = {speeds[impl][-1]:.2f} images/s'
                  + (f'   (d2l itself reports: {r["d2l_says"]})'
                     if r.get('d2l_says') else ''), flush=True)
    median = statistics.median
    for impl, what in (('ours-learned', 'the loop alone (learned final '
                        'upsampler, as the reference)'),
                       ('ours', 'the course as it trains (fixed final '
                        'upsampler)')):
        ratios = [o / r for o, r in zip(speeds[impl], speeds['reference'])]
        print(f'{impl}: {what}: speed-up over d2l.train_ch13 per run '
              + ', '.join(f'{x:.2f}x' for x in ratios)
              + f'; median {median(ratios):.2f}x')
    print('median images/s: ' + ', '.join(
        f'{impl} {median(speeds[impl]):.2f}' for impl in sides))
    print(f'one full-image evaluation pass: {our["eval_images"]} whole '
          f'validation images ({our["eval_pixels"] / 1e6:.1f} M pixels) in '
          f'{our["eval_seconds"]:.1f} s')


if __name__ == '__main__':
    main()
