import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb'))
sys.path.insert(0, str(Path(__file__).parent))


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)


def code_cells(path):
    return [c for c in read_notebook(path).cells if c.cell_type == 'code']
