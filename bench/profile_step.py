"""Where the time of one training step goes: MXNet's profiler over a few
steps of FCN-32s (d2lfcn.fcn_resnet18, random weights) with
d2lfcn.SegmentationLoss and SGD, hybridized with static allocation, on one
batch of random crops from the generated sample data. Prints the operators
that take the most time, in milliseconds per step. Not a test.

    .venv/bin/python bench/profile_step.py [--crop 128x160] [--batch-size 16]
        [--steps 3] [--top 12] [--loss d2lfcn|axis1]

The defaults are chapter 5's crops and batches, which fit the sample data.
"""
import argparse
import json
import os
import tempfile

import d2lfcn  # first: it sets OMP_NUM_THREADS before MXNet loads
import mxnet as mx
from mxnet import autograd, gluon, nd


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--crop', default='128x160')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--top', type=int, default=12)
    parser.add_argument('--loss', choices=('d2lfcn', 'axis1'),
                        default='d2lfcn',
                        help="axis1: the loss with log_softmax over the class "
                             "axis of (N, C, H, W), as in bench_loss.py")
    args = parser.parse_args()
    if args.steps < 1 or args.batch_size < 1:
        parser.error('--steps and --batch-size must be at least 1')
    crop = tuple(int(v) for v in args.crop.split('x'))
    voc_dir = d2lfcn.make_sample_voc(d2lfcn.DATA_DIR / 'bench_voc_64_24', 64,
                                     24)
    mx.random.seed(0)
    loader = gluon.data.DataLoader(d2lfcn.VOCSegDataset(True, crop, voc_dir),
                                   args.batch_size, shuffle=True)
    X, y = next(iter(loader))
    net = d2lfcn.fcn_resnet18(21, pretrained=False, devices=[mx.cpu()])
    net.hybridize(static_alloc=True)
    if args.loss == 'axis1':
        from bench_loss import ClassesAxisLoss   # next to this script
        loss = ClassesAxisLoss()
    else:
        loss = d2lfcn.SegmentationLoss()
    loss.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.1, 'wd': 1e-3})

    def step():
        with autograd.record():
            losses = loss(net(X), y)
        losses.backward()
        trainer.step(X.shape[0])

    step()                                  # builds the graph, allocates
    nd.waitall()
    with tempfile.TemporaryDirectory() as tmp:
        mx.profiler.set_config(profile_all=True, aggregate_stats=True,
                               filename=os.path.join(tmp, 'profile.json'))
        mx.profiler.set_state('run')
        for _ in range(args.steps):
            step()
        nd.waitall()
        mx.profiler.set_state('stop')
        stats = json.loads(mx.profiler.dumps(format='json'))
    operators = stats['Time']['operator']
    per_step = sorted(((v['Total'] / args.steps, name)
                       for name, v in operators.items()), reverse=True)
    total = sum(ms for ms, _ in per_step)
    print(f'FCN-32s, batch {args.batch_size} of {args.crop} crops, one CPU '
          f'context, loss {args.loss}: operators take {total:.0f} ms per step')
    for ms, name in per_step[:args.top]:
        print(f'  {name:28s} {ms:8.1f} ms  {100 * ms / total:5.1f} %')


if __name__ == '__main__':
    main()
