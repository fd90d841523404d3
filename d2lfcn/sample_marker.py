"""The marker of a generated sample dataset, and the checks that keep the
user's files: `sample_complete.json` in its VOC2012 folder says what the
dataset was made with and holds the sha256 of every file written, so that a
complete dataset is reused, and one is replaced only when nothing in it is
the user's. Temporary folders of killed runs are recognised by their pid.
"""
import hashlib
import json
import shutil
from pathlib import Path

from d2lfcn.folder_lock import abandoned

MARKER = 'sample_complete.json'


def is_sample_voc(voc_dir):
    """True if voc_dir (a VOCdevkit/VOC2012 folder) is a complete sample
    dataset written by make_sample_voc, False for anything else (e.g. the
    real Pascal VOC 2012)."""
    return read_marker(Path(voc_dir) / MARKER) is not None


def read_marker(marker):
    """The contents of a dataset's marker file (a dict), or None."""
    try:
        found = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def marker_params(marker):
    """The arguments a marked dataset was made with (the marker without its
    list of files), or None."""
    found = read_marker(marker)
    return None if found is None else \
        {k: v for k, v in found.items() if k != 'files'}


def file_digests(voc_dir):
    """{path relative to voc_dir: sha256 hex} of every file in it."""
    return {p.relative_to(voc_dir).as_posix():
            hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(voc_dir.rglob('*')) if p.is_file()}


def _written_names(params):
    """The files a marker without a list of files (format 4, before the list
    was kept) says were written, as paths relative to VOC2012."""
    try:
        names = [f'sample_{i:06d}'
                 for i in range(params['num_train'] + params['num_val'])]
    except (KeyError, TypeError):
        return set()
    return ({f'JPEGImages/{n}.jpg' for n in names}
            | {f'SegmentationClass/{n}.png' for n in names}
            | {f'ImageSets/Segmentation/{s}.txt'
               for s in ('train', 'val', 'trainval')})


JUNK = {'.DS_Store', 'Thumbs.db', 'desktop.ini'}
"""Files that file browsers leave in a folder someone looked at: not the
user's data, so they do not stop a dataset from being replaced."""


def _is_junk(relative):
    parts = relative.split('/')
    return parts[-1] in JUNK or '.ipynb_checkpoints' in parts


def _not_written_by_us(voc_dir, marker):
    """Paths in voc_dir (relative) that make_sample_voc did not write as they
    are now: files added, and files changed since (when the marker lists the
    files' digests)."""
    found = read_marker(marker) or {}
    written = found.get('files')
    ours = {MARKER}
    if isinstance(written, dict):
        on_disk = file_digests(voc_dir)
        return sorted(p for p, digest in on_disk.items()
                      if p not in ours and written.get(p) != digest
                      and not _is_junk(p))
    ours |= _written_names(found)
    return sorted(p for p in (q.relative_to(voc_dir).as_posix()
                              for q in voc_dir.rglob('*') if q.is_file())
                  if p not in ours and not _is_junk(p))


def refuse_foreign(devkit, marker, default_root):
    """FileExistsError unless devkit holds nothing but a sample dataset
    written by make_sample_voc (its VOC2012 folder with a marker), with no
    file added or changed since."""
    entries = sorted(p.name for p in devkit.iterdir()) if devkit.is_dir() \
        else None
    if entries == ['VOC2012'] and read_marker(marker) is not None:
        changed = _not_written_by_us(devkit / 'VOC2012', marker)
        if not changed:
            return
        raise FileExistsError(
            f'{devkit / "VOC2012"} is a sample dataset, but '
            f'{len(changed)} file(s) in it are not as the sample generator '
            f'wrote them ({", ".join(changed[:4])}'
            f'{", ..." if len(changed) > 4 else ""}): added or edited by '
            f'you. Nothing was changed. To make a new sample dataset there, '
            f'move those files out first; or pass make_sample_voc a root of '
            f'its own')
    raise FileExistsError(
        f'{devkit} holds files the sample generator did not write '
        f'({", ".join(entries[:4]) if entries else "it is not a folder"}); '
        f'they may be a real Pascal VOC or your own. Nothing was changed: '
        f'pass make_sample_voc a root of its own (the default is '
        f'{default_root})')


def remove_stale_tmp(root):
    """Delete temporary folders that killed runs of make_sample_voc left in
    root: those of processes that no longer exist, or older than a day
    (folder_lock.abandoned)."""
    for tmp in root.glob('.tmp-*-*'):
        try:
            pid = int(tmp.name.split('-')[1])
        except ValueError:
            continue
        if abandoned(tmp, pid):
            shutil.rmtree(tmp, ignore_errors=True)
