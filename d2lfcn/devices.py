"""Devices to compute on: the GPUs if there are any, else the CPU.

Functions take their devices as a list of MXNet contexts; a list of two
or more CPU contexts, [mx.cpu(0), mx.cpu(1)], runs the multi-device code
paths on a machine without GPUs.
"""
import mxnet as mx


def try_gpu(i=0):
    """GPU number i if it exists, else the CPU."""
    return mx.gpu(i) if mx.context.num_gpus() > i else mx.cpu()


def try_all_gpus():
    """All GPUs, or [mx.cpu()] when there are none."""
    return [mx.gpu(i) for i in range(mx.context.num_gpus())] or [mx.cpu()]


def parse_device(text):
    """'cpu', 'cpu1', 'cpu:1', 'gpu', 'gpu0' or 'gpu:0' -> an MXNet context."""
    name = text.strip().lower().replace(':', '')
    kind, number = name.rstrip('0123456789'), name[len(name.rstrip('0123456789')):]
    if kind not in ('cpu', 'gpu'):
        raise ValueError(f'unknown device {text!r}: use cpu, cpu1, gpu0, '
                         f'gpu1, ...')
    return mx.Context(kind, int(number or 0))
