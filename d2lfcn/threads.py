"""How many CPU threads MXNet computes with.

MXNet 1.9 runs its CPU operators with OpenMP threads. It reads
OMP_NUM_THREADS once, when the library loads (at `import mxnet`), and when
the variable is not set it uses only half of the cores it sees, assuming
that every core is two hyper-threads. On a machine without hyper-threads
half of the machine then waits. `use_all_cores` sets the variable to the
number of cores this process may run on, unless it is set already, and so
must run before MXNet is imported: `import d2lfcn` does it first thing,
which is why the notebooks import d2lfcn before mxnet.
"""
import os
import sys
import warnings

VARIABLE = 'OMP_NUM_THREADS'


def available_cores():
    """The number of CPU cores this process may run on (>= 1)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:           # macOS and Windows have no affinity
        return os.cpu_count() or 1


def use_all_cores():
    """Let MXNet compute with every core; returns the thread count in force.

    Sets OMP_NUM_THREADS to available_cores() if it is not set (a value the
    user set wins). MXNet reads it only when it is first imported: if mxnet
    was imported before with the variable unset, this warns (MXNet then
    computes with half of the cores until the process restarts) and
    returns None.
    """
    if os.environ.get(VARIABLE, '').strip():
        return os.environ[VARIABLE]
    if 'mxnet' in sys.modules:
        warnings.warn(
            f'mxnet was imported before d2lfcn with {VARIABLE} unset, so it '
            f'computes with half of the {available_cores()} cores. Import '
            f'd2lfcn before mxnet (restart the kernel first), or set '
            f'{VARIABLE} before starting Python.', stacklevel=3)
        return None
    os.environ[VARIABLE] = str(available_cores())
    return os.environ[VARIABLE]
