"""Devices to compute on: the GPUs if there are any, else the CPU.

Functions take their devices as a list of MXNet contexts; a list of two
or more CPU contexts, [mx.cpu(0), mx.cpu(1)], runs the multi-device code
paths on a machine without GPUs.
"""
import mxnet as mx

MAX_CPU_CONTEXTS = 64
"""CPU contexts are names for the same cores, useful to run multi-device
code without GPUs; a huge index would make MXNet allocate without end."""


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


def checked_devices(value):
    """`value` as a non-empty list of MXNet contexts that exist.

    Accepts one context, a list of them, or strings such as 'cpu', 'gpu0',
    'cpu:1' (see d2lfcn.devices.parse_device).
    """
    if isinstance(value, (mx.Context, str)):
        value = [value]
    found = [parse_device(d) if isinstance(d, str) else d
             for d in (value or [])]
    if not found:
        raise ValueError('devices is empty: pass e.g. d2lfcn.try_all_gpus()')
    for d in found:
        if not isinstance(d, mx.Context):
            raise TypeError(f'devices must be MXNet contexts such as mx.cpu() '
                            f'or mx.gpu(0), got {d!r}')
        if d.device_type == 'cpu' and d.device_id >= MAX_CPU_CONTEXTS:
            raise ValueError(f'{d}: at most {MAX_CPU_CONTEXTS} CPU contexts '
                             f'(cpu0 to cpu{MAX_CPU_CONTEXTS - 1}); they all '
                             f'share the same cores, e.g. cpu0,cpu1 tests two '
                             f'devices')
        if d.device_type == 'gpu' and d.device_id >= mx.context.num_gpus():
            raise ValueError(f'{d} does not exist: this machine has '
                             f'{mx.context.num_gpus()} GPU(s); use '
                             f'd2lfcn.try_all_gpus()')
    if len(set(found)) != len(found):
        raise ValueError(f'devices lists a device twice: {found}')
    return found
