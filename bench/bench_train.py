"""Benchmark: training throughput of d2lfcn.train against d2l's train_ch13.

Both train FCN-32s on ResNet-18 v2 (the backbone's features, a 1x1 score
convolution and a 64/32/16 transposed convolution, randomly initialised)
with SGD on the same generated VOC-format data, the same crop, batch size,
number of epochs and devices, each in its own subprocess:

- reference: d2l 1.0.3 as its FCN chapter uses it (numpy mode,
  d2l.VOCSegDataset, SoftmaxCrossEntropyLoss(axis=1), which averages over each image's pixels,
  d2l.train_ch13), with a one-batch test set so that its per-epoch
  evaluation costs little;
- ours: d2lfcn.VOCSegDataset, d2lfcn.fcn_resnet18, SegmentationLoss and
  d2lfcn.train (hybridized, static allocation, no per-batch sync), with no
  validation during training.

Throughput is training images per second of wall time over all epochs,
data loading included and evaluation left out (for the reference, the time
of its one-batch test pass is measured and subtracted; d2l's own figure,
which leaves data loading out too, is printed as well). Then one full-image evaluation pass of d2lfcn.evaluate over
the whole validation images is timed. Not a test.

    pip install --no-deps d2l==1.0.3      # into .venv, for the reference
    .venv/bin/python bench/bench_train.py [--crop 320x480] [--batch-size 8]
        [--epochs 2] [--devices cpu0] [--num-train 64] [--repeat 3]

Each side runs --repeat times, alternating; the speed-up is printed for
every pair and as the median.
"""
import argparse
import json
import os
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
    net.initialize(init.Xavier(), devices=devices)
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


def ours(voc_dir, crop, batch_size, epochs, devices):
    import mxnet as mx
    from mxnet import gluon

    import d2lfcn
    from d2lfcn.training import SegmentationLoss, evaluate, train
    mx.random.seed(0)
    net = d2lfcn.fcn_resnet18(21, pretrained=False, devices=devices)
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
    parser.add_argument('--crop', default='320x480')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--devices', default='cpu0')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs of each, alternating (default 3)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f'--repeat must be at least 1, got {args.repeat}')
    crop = tuple(int(v) for v in args.crop.split('x'))
    if args.child:
        from d2lfcn import validate
        run = {'reference': reference, 'ours': ours}[args.child]
        result = run(os.environ['BENCH_VOC_DIR'], crop, args.batch_size,
                     args.epochs,
                     validate.devices(args.devices.split(',')))
        print('RESULT ' + json.dumps(result))
        return
    import d2lfcn
    voc_dir = d2lfcn.make_sample_voc(d2lfcn.DATA_DIR / 'bench_voc',
                                     args.num_train, args.num_val)
    print(f'data: {voc_dir} ({args.num_train} train, {args.num_val} val), '
          f'crop {args.crop}, batch {args.batch_size}, {args.epochs} epochs, '
          f'devices {args.devices}')
    speeds = {'reference': [], 'ours': []}
    for run in range(args.repeat):       # alternate, so drift hits both
        for impl in ('reference', 'ours'):
            proc = subprocess.run(
                [sys.executable, __file__, '--child', impl, '--crop',
                 args.crop, '--batch-size', str(args.batch_size), '--epochs',
                 str(args.epochs), '--devices', args.devices],
                capture_output=True, text=True,
                env=dict(os.environ, BENCH_VOC_DIR=str(voc_dir)))
            lines = [l for l in proc.stdout.splitlines()
                     if l.startswith('RESULT ')]
            if proc.returncode or not lines:
                sys.exit(f'{impl} failed:\n{proc.stderr[-3000:]}')
            r = json.loads(lines[-1][7:])
            speeds[impl].append(r['images'] / r['seconds'])
            if impl == 'ours':
                our = r
            print(f'run {run + 1} {impl:9s}: {r["images"]} training images '
                  f'in {r["seconds"]:.1f} s = {speeds[impl][-1]:.2f} images/s'
                  + (f'   (d2l itself reports: {r["d2l_says"]})'
                     if r.get('d2l_says') else ''), flush=True)
    ratios = [o / r for o, r in zip(speeds['ours'], speeds['reference'])]
    median = lambda xs: sorted(xs)[len(xs) // 2]
    print(f'speed-up of d2lfcn.train over d2l.train_ch13 per run: '
          + ', '.join(f'{x:.2f}x' for x in ratios))
    print(f'median: reference {median(speeds["reference"]):.2f} images/s, '
          f'ours {median(speeds["ours"]):.2f} images/s, speed-up '
          f'{median(ratios):.2f}x')
    print(f'one full-image evaluation pass: {our["eval_images"]} whole '
          f'validation images ({our["eval_pixels"] / 1e6:.1f} M pixels) in '
          f'{our["eval_seconds"]:.1f} s')


if __name__ == '__main__':
    main()
