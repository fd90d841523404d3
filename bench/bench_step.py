"""Benchmark: what one training step of FCN-32s costs, and how close it
comes to what this CPU can do in MXNet.

1. The final upsampler alone (forward and backward of a batch of coarse
   score maps): the learned 21-to-21 layer against the fixed one (21
   groups, one filter per class, no weight gradient) that the course uses.
2. A whole training step (forward, loss, backward, Adam update) of FCN-32s
   with each, and its rate in GFLOP/s: the floating-point operations of
   every convolution and transposed convolution of the step (2 per
   multiply-add; forward, the input gradient of every layer but the first,
   and the weight gradient of every layer that is trained), divided by the
   step's seconds. Batch normalisation, ReLUs, the loss and the update are
   not counted, so the rate is a lower bound.
3. The ceiling: ResNet-18's largest convolutions, one per stage, alone
   (forward, input and weight gradients), in GFLOP/s, and the whole step's
   rate as a fraction of the best of them.

MXNet computes with OMP_NUM_THREADS threads (d2lfcn sets it to every core
unless it is set). Medians over --repeat timed passes, after one warm-up.
Not a test.

    .venv/bin/python bench/bench_step.py [--batch-size 16] [--crop 128x160]
        [--repeat 5]
"""
import argparse
import os
import statistics
import time

import d2lfcn  # first: it sets OMP_NUM_THREADS before MXNet loads
import mxnet as mx
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn


def median_seconds(step, repeat):
    """Median wall seconds of step() over `repeat` runs after a warm-up."""
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        step()
        nd.waitall()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def forward_backward(block, x):
    """A step function: forward and backward of block on x (x gets a
    gradient, as a layer inside a network does)."""
    x = x.copy()
    x.attach_grad()

    def step():
        with autograd.record():
            y = block(x)
        y.backward()
    return step


def conv_flops(net, x):
    """Floating-point operations of the convolutions in one training step
    of net on x: forward, input gradients (not for the layer that reads the
    image) and weight gradients (only of trained weights)."""
    layers = []

    def hook(block, inputs, output):
        layers.append((block, inputs[0].shape, output.shape))
    handles = [b.register_forward_hook(hook) for b in _conv_blocks(net)]
    net(x)
    for h in handles:
        h.detach()
    total = 0
    for i, (block, in_shape, out_shape) in enumerate(layers):
        weight = block.weight.shape          # conv (Co, Ci/g, k, k),
        kernel = weight[2] * weight[3]       # transposed (Ci, Co/g, k, k)
        if isinstance(block, nn.Conv2DTranspose):
            macs = _size(in_shape) * weight[1] * kernel
        else:
            macs = _size(out_shape) * weight[1] * kernel
        passes = 1 + (i > 0) + (block.weight.grad_req != 'null')
        total += 2 * macs * passes
    return total


def _conv_blocks(block):
    found = [block] if isinstance(block, (nn.Conv2D, nn.Conv2DTranspose)) \
        else []
    for child in block._children.values():
        found += _conv_blocks(child)
    return found


def _size(shape):
    out = 1
    for v in shape:
        out *= v
    return out


def training_step(net, x, y):
    loss = d2lfcn.SegmentationLoss()
    trainer = gluon.Trainer(net.collect_params(), 'adam',
                            {'learning_rate': 1e-3})
    net.hybridize(static_alloc=True)
    loss.hybridize(static_alloc=True)

    def step():
        with autograd.record():
            total = loss(net(x), y)
        total.backward()
        trainer.step(x.shape[0])
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--crop', default='128x160')
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    n = args.batch_size
    h, w = (int(v) for v in args.crop.split('x'))
    print(f'batch {n} of {h}x{w}, OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS")}, median of {args.repeat}')
    mx.random.seed(0)
    x = nd.random.normal(shape=(n, 3, h, w))
    y = nd.random.randint(0, 21, shape=(n, h, w)).astype('float32')
    coarse = nd.random.normal(shape=(n, 21, -(-h // 32), -(-w // 32)))

    print('\n1-2. final upsampler and whole FCN-32s step')
    steps = {}
    for learned in (True, False):
        kind = 'learned 21-to-21' if learned else 'fixed, 21 groups'
        up = d2lfcn.bilinear_upsampler(21, 32, learnable=learned)
        up.initialize()
        up.hybridize(static_alloc=True)
        up_s = median_seconds(forward_backward(up, coarse), args.repeat)
        net = d2lfcn.fcn_resnet18(21, pretrained=False,
                                  learn_final_upsampling=learned)
        flops = conv_flops(net, x)
        step_s = median_seconds(training_step(net, x, y), args.repeat)
        steps[learned] = flops / step_s
        print(f'  {kind:17s}: upsampler forward+backward {1000 * up_s:6.1f} '
              f'ms; training step {1000 * step_s:6.0f} ms '
              f'({up_s / step_s:.0%} upsampler), {flops / 1e9:5.1f} GFLOP of '
              f'convolutions = {flops / step_s / 1e9:5.1f} GFLOP/s, '
              f'{n / step_s:5.1f} crops/s')

    print('\n3. ResNet-18\'s largest convolutions alone (forward, input and '
          'weight gradients)')
    best = 0
    for stage, (channels, stride) in enumerate(
            [(64, 4), (128, 8), (256, 16), (512, 32)], 1):
        conv = nn.Conv2D(channels, 3, padding=1, in_channels=channels,
                         use_bias=False)
        conv.initialize()
        conv.hybridize(static_alloc=True)
        inp = nd.random.normal(shape=(n, channels, -(-h // stride),
                                      -(-w // stride)))
        flops = 2 * 3 * _size(inp.shape) * channels * 9
        seconds = median_seconds(forward_backward(conv, inp), args.repeat)
        best = max(best, flops / seconds)
        print(f'  stage {stage}: 3x3, {channels}->{channels} on '
              f'{inp.shape[2]}x{inp.shape[3]}: {flops / 1e9:4.1f} GFLOP in '
              f'{1000 * seconds:5.1f} ms = {flops / seconds / 1e9:5.1f} '
              f'GFLOP/s')
    for learned, rate in steps.items():
        kind = 'learned' if learned else 'fixed'
        print(f'whole step ({kind} upsampler) / best single convolution: '
              f'{rate / best:.2f}')


if __name__ == '__main__':
    main()
