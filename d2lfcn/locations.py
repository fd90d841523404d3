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
DATA_ENV = 'D2LFCN_DATA'
DATA_DIR = Path(os.environ.get(DATA_ENV, ROOT / 'data'))
"""Where datasets are downloaded or generated (override: D2LFCN_DATA)."""


def checked_data_dir(folder=None, write=True, name='data_dir'):
    """folder (None: DATA_DIR) as a Path, if it is a folder or not there
    yet; with write=True it is made, and must be writable. Otherwise an
    error that names where the folder came from (D2LFCN_DATA, or `name`)
    and what to do."""
    env = os.environ.get(DATA_ENV)
    if folder is None and env is not None and Path(env) == Path(DATA_DIR):
        if not env.strip():
            raise ValueError(
                f'{DATA_ENV} is set but empty, which would put the datasets '
                f'into the current folder ({Path.cwd()}); set it to a folder, '
                f'or unset it to use {ROOT / "data"}')
        said = f'{DATA_ENV}={env}'
        fix = (f'set {DATA_ENV} to a folder you can write, or unset it to '
               f'use {ROOT / "data"}')
    elif folder is None:
        said, fix = f'the data folder {DATA_DIR}', (
            f'make it a folder you can write, or set {DATA_ENV} to one')
    else:
        said, fix = f'{name} {folder}', 'give a folder you can write'
    folder = Path(DATA_DIR if folder is None else folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f'{said} is a file, not a folder; {fix}')
    if not write:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise type(e)(f'cannot make {said}: {e.strerror}; {fix}') from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f'{said} is not writable; {fix}')
    return folder


def short_path(path):
    """path relative to the course folder if it is inside it, for messages."""
    try:
        return Path(path).resolve().relative_to(ROOT)
    except ValueError:
        return path
