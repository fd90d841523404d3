"""Helpers shared by the test files, which import them from here (pytest puts
tests/ on sys.path for every test file in it)."""
import socket
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / 'notebooks').glob('[0-9][0-9]*_*.ipynb'))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)


def code_cells(path):
    return [c for c in read_notebook(path).cells if c.cell_type == 'code']


def toy_segmentation(n, height=64, width=64, seed=0):
    """A tiny learnable task: a bright square of class 1 or 2 (its colour
    channel says which) on noise, with a 255 row on its top edge."""
    import numpy as np
    from mxnet import gluon, nd
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.3, (n, 3, height, width)).astype('float32')
    y = np.zeros((n, height, width), 'float32')
    side = min(height, width) * 3 // 8
    for i in range(n):
        r = rng.integers(0, height - side)
        c = rng.integers(0, width - side)
        cls = 1 + i % 2
        X[i, cls - 1, r:r + side, c:c + side] += 1.5
        y[i, r:r + side, c:c + side] = cls
        y[i, r, c:c + side] = 255
    return gluon.data.ArrayDataset(nd.array(X), nd.array(y))


def stop_process_group(proc, timeout=20):
    """Stop a process started with start_new_session=True, and its children
    (make lab starts jupyter, which starts kernels): TERM, then KILL."""
    import os
    import signal
    import subprocess
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
