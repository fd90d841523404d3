"""Benchmark: the per-pixel loss with the softmax over axis 1 or, after a
transpose, over the last axis (what d2lfcn.SegmentationLoss does).

Times forward and backward of both on random scores (N, 21, H, W) with 1/8 of
the labels 255, on one CPU context, and checks that they agree. Not a test.

    .venv/bin/python bench/bench_loss.py [--shape 8x21x320x480] [--repeat 5]
"""
import argparse
import time

import d2lfcn  # noqa: F401  (first: it sets OMP_NUM_THREADS before MXNet loads)
import mxnet as mx
from mxnet import autograd, nd

from d2lfcn.training import SegmentationLoss


class ClassesAxisLoss(SegmentationLoss):
    """The same loss with log_softmax over axis 1 of (N, C, H, W)."""

    def hybrid_forward(self, F, scores, label):
        valid = label != self.ignore_index
        safe_label = F.where(valid, label, F.zeros_like(label))
        nll = -F.pick(F.log_softmax(scores, axis=1), safe_label, axis=1)
        per_image = F.sum(nll * valid, axis=(1, 2))
        return per_image / F.maximum(F.sum(valid, axis=(1, 2)), 1)


def time_loss(loss, scores, label, repeat):
    """Median forward and backward seconds of `loss` over `repeat` runs."""
    forward, backward = [], []
    for _ in range(repeat + 1):          # the first run warms up
        nd.waitall()
        start = time.perf_counter()
        with autograd.record():
            value = loss(scores, label)
        nd.waitall()
        middle = time.perf_counter()
        value.backward()
        nd.waitall()
        forward.append(middle - start)
        backward.append(time.perf_counter() - middle)
    def median(xs):
        return sorted(xs[1:])[len(xs[1:]) // 2]
    return median(forward), median(backward), value, scores.grad.copy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', default='8x21x320x480')
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    n, c, h, w = (int(v) for v in args.shape.split('x'))
    mx.random.seed(0)
    scores = nd.random.normal(shape=(n, c, h, w))
    scores.attach_grad()
    label = nd.random.randint(0, c, shape=(n, h, w)).astype('float32')
    label[:, :h // 8] = 255
    print(f'scores {scores.shape}, {args.repeat} runs, median seconds')
    results = {}
    for name, loss in (('log_softmax over axis 1', ClassesAxisLoss()),
                       ('transpose, then last axis', SegmentationLoss())):
        for hybrid in (False, True):
            if hybrid:
                loss.hybridize(static_alloc=True)
            f, b, value, grad = time_loss(loss, scores, label, args.repeat)
            results[name, hybrid] = value, grad
            print(f'{name:26s} hybridized={hybrid!s:5s}: forward {f:.3f} '
                  f'backward {b:.3f} total {f + b:.3f}')
    (v0, g0), (v1, g1) = results['log_softmax over axis 1', True], \
        results['transpose, then last axis', True]
    def relative(a, b):
        return (nd.abs(a - b).max() / nd.abs(a).max()).asscalar()
    print(f'largest relative difference: loss {relative(v0, v1):.1e}, '
          f'gradient {relative(g0, g1):.1e}')


if __name__ == '__main__':
    main()
