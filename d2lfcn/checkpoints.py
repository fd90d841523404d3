"""Checkpoints: a folder epoch-NNNN/ per epoch with the net's parameters,
the trainer's state and the history, written so that a killed run never
leaves one that looks complete (and read back by checkpoint_reading).
"""
import json
import os
import re
import shutil
from pathlib import Path

from mxnet import nd
from mxnet.base import MXNetError

from d2lfcn.checkpoint_reading import (_model_signature, _states_in,
                                       load_checkpoint, read_checkpoint_meta)
from d2lfcn.folder_lock import abandoned
from d2lfcn.validate import error_line


CHECKPOINT_FILES = ('net.params', 'trainer.states', 'meta.json')


def save_checkpoint(checkpoint_dir, net, trainer, history, num_kept=2,
                    batch_shape=None):
    """Write epoch-NNNN/ with the net, the trainer and the history
    (batch_shape: of the batches trained on, kept to tell a resumed run
    what changed).

    The files go to a temporary folder first, which is renamed only when all
    of them are written: a run killed meanwhile leaves no checkpoint that
    looks complete. Only the newest `num_kept` checkpoints are kept.
    """
    bad = [name for name, p in net.collect_params().items()
           if nd.contrib.isfinite(p.list_data()[0]).min().asscalar() != 1]
    if bad:
        raise FloatingPointError(
            f'not saving a checkpoint: {len(bad)} parameters hold NaN or inf '
            f'(the first: {bad[0]}); the run diverged, lower the learning rate')
    root = Path(checkpoint_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f'epoch-{len(history):04d}'
    tmp = root / f'.{final.name}.{os.getpid()}.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        net.save_parameters(str(tmp / 'net.params'))
        trainer.save_states(str(tmp / 'trainer.states'))
        meta = {'epoch': len(history), 'history': history,
                'num_classes': getattr(net, 'num_classes', None),
                'variant': getattr(net, 'variant', None),
                'learn_final_upsampling': getattr(
                    net, 'learn_final_upsampling', None),
                'signature': _model_signature(net),
                'batch_shape': batch_shape}
        (tmp / 'meta.json').write_text(json.dumps(meta, indent=1))
        for name in CHECKPOINT_FILES:
            with open(tmp / name, 'rb') as f:
                os.fsync(f.fileno())
        _read_back(tmp, meta, final)
    except BaseException as e:  # a full disk, an interrupt: leave nothing
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, MXNetError):     # MXNet's words for a failed write
            raise OSError(f'cannot write checkpoint {final}: '
                          f'{error_line(e)}; is the disk full, or a file-size '
                          f'limit set? Nothing was saved for this epoch') \
                from None
        raise
    if final.exists():     # move the old one aside first: never a gap
        old = root / f'.{final.name}.{os.getpid()}.old'
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)
    for old in list_checkpoints(root)[:-num_kept]:
        shutil.rmtree(old)
    return final


def list_checkpoints(checkpoint_dir):
    """Complete checkpoint folders in checkpoint_dir, oldest first."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.glob('epoch-*')
             if re.fullmatch(r'epoch-\d{4,}', p.name)
             and all((p / f).is_file() for f in CHECKPOINT_FILES)]
    return sorted(found, key=lambda p: int(p.name[len('epoch-'):]))


def _read_back(folder, meta, final):
    """OSError unless the three files in folder read back whole: a full disk
    or a file-size limit can cut a file short without any error on write."""
    try:
        nd.load(str(folder / 'net.params'))
        _states_in(folder / 'trainer.states')
        if json.loads((folder / 'meta.json').read_text()) != \
                json.loads(json.dumps(meta)):
            raise ValueError('meta.json differs from what was written')
    except Exception as e:
        raise OSError(f'checkpoint {final} was not written completely '
                      f'({type(e).__name__}): is the disk full, or a '
                      f'file-size limit set? Nothing was saved for this '
                      f'epoch') from None


def _clean_leftovers(root):
    """Remove what killed runs left in root: half-written checkpoints, and
    an old checkpoint moved aside during a save (put back when its
    replacement never arrived). Only those of this process, or abandoned
    (folder_lock.abandoned) are touched: a live run's files are its own."""
    for left in sorted(root.glob('.epoch-*.*.partial')) + \
            sorted(root.glob('.epoch-*.*.old')):
        match = re.fullmatch(r'\.(epoch-\d{4,})\.(\d+)\.(partial|old)',
                             left.name)
        if not match:
            continue
        name, pid, kind = match.groups()
        if int(pid) != os.getpid() and not abandoned(left, int(pid)):
            continue
        complete = all((left / f).is_file() for f in CHECKPOINT_FILES)
        if kind == 'old' and complete and not (root / name).exists():
            os.replace(left, root / name)
        else:
            shutil.rmtree(left, ignore_errors=True)


def prepare_checkpoints(checkpoint_dir, net, trainer, resume, devices):
    """Resume from the newest checkpoint, or make sure none is overwritten.
    Returns (history, meta) of the checkpoint resumed, ([], {}) for a new
    run. The caller holds the folder's lock (folder_lock.locked_folder)."""
    _clean_leftovers(Path(checkpoint_dir))
    found = list_checkpoints(checkpoint_dir)
    if not found:
        return [], {}
    if not resume:
        raise FileExistsError(
            f'{checkpoint_dir} already holds checkpoints up to '
            f'{found[-1].name}; pass resume=True (--resume) to continue that '
            f'run, or choose another checkpoint_dir')
    print(f'resuming from {found[-1]}')
    history = load_checkpoint(found[-1], net, trainer, devices)
    return history, read_checkpoint_meta(found[-1])
