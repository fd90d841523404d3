"""Where the course keeps its files: the course folder, its pictures and
the data folder (set D2LFCN_DATA to put datasets elsewhere).

No other module of d2lfcn is imported here, so every module can import it.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The course folder (the clone of the repository)."""
IMG_DIR = ROOT / 'img'
"""Pictures the notebooks use."""
DATA_DIR = Path(os.environ.get('D2LFCN_DATA', ROOT / 'data'))
"""Where datasets are downloaded or generated (override: D2LFCN_DATA)."""


def short_path(path):
    """path relative to the course folder if it is inside it, for messages."""
    try:
        return Path(path).resolve().relative_to(ROOT)
    except ValueError:
        return path
