"""Helpers shared by the test files, which import them from here (pytest puts
tests/ on sys.path for every test file in it)."""
import functools
import linecache
import re
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


def is_solution(cell):
    return 'solution' in cell.metadata.get('tags', [])


@functools.lru_cache(maxsize=None)
def _chapter_namespace(chapter):
    """A namespace in which the first code cell (the imports) of chapter
    `chapter` ('05', '04b', ...) has run, and its cells of code kept in
    d2lfcn (definitions only, which solutions may use)."""
    path, = [p for p in NOTEBOOKS if p.name.split('_')[0] == chapter]
    namespace = {'__name__': f'chapter_{chapter}'}
    cells = code_cells(path)
    for number, cell in enumerate(cells):
        if number == 0 or cell.source.startswith('# Kept in d2lfcn/'):
            exec(compile(cell.source, f'{path.name} (code cell {number})',
                         'exec'), namespace)
    return path, namespace


def solution(chapter, name):
    """The function `name` that the solution cell of chapter `chapter`
    defines (the teacher's reference), run in the chapter's imports; its
    source is registered so that inspect.getsource finds it. The tests take
    reference solutions from here instead of retyping them."""
    path, namespace = _chapter_namespace(chapter)
    pattern = re.compile(rf'^def {re.escape(name)}\(', re.M)
    for cell in code_cells(path):
        if is_solution(cell) and pattern.search(cell.source):
            filename = f'<{path.name}: solution {name}>'
            linecache.cache[filename] = (len(cell.source), None,
                                         cell.source.splitlines(True),
                                         filename)
            exec(compile(cell.source, filename, 'exec'), namespace)
            return namespace[name]
    raise LookupError(f'{path.name} has no solution cell defining {name}')
