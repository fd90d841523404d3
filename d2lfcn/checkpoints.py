"""Checkpoints: a folder epoch-NNNN/ per epoch with the net's parameters,
the trainer's state and the history, written so that a killed run never
leaves one that looks complete, and read back to resume or to predict.
"""
import json
import os
import re
import shutil
from pathlib import Path

import mxnet as mx
from mxnet import nd
from mxnet.base import MXNetError

from d2lfcn.folder_lock import process_alive
from d2lfcn.validate import error_line


CHECKPOINT_FILES = ('net.params', 'trainer.states', 'meta.json')


def _model_signature(net):
    """Parameter names and shapes: tells checkpoints of other models apart."""
    return {name: list(p.shape) for name, p in
            net._collect_params_with_prefix().items()}


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


def read_checkpoint_meta(path):
    """The meta.json of a checkpoint folder as a dict ({} for a .params
    file); ValueError naming the file if it is missing or corrupt."""
    path = Path(path)
    if not path.is_dir():
        return {}
    try:
        meta = json.loads((path / 'meta.json').read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f'{path / "meta.json"} is missing or corrupt '
                         f'({e}); this is not a complete checkpoint') from None
    wrong = _wrong_meta(meta)
    if wrong:
        raise ValueError(f'{path / "meta.json"} was edited or is corrupt: '
                         f'{wrong}. Restore it, or delete {path.name} to '
                         f'use the checkpoint before it')
    return meta


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


META_TYPES = {
    'epoch': ('a whole number >= 0', lambda v: _is_int(v) and v >= 0),
    'history': ('a list of one dict per epoch', lambda v: isinstance(
        v, list) and all(isinstance(row, dict) for row in v)),
    'num_classes': ('a whole number >= 2, or null',
                    lambda v: v is None or (_is_int(v) and v >= 2)),
    'variant': ("'32s', '16s', '8s' or null",
                lambda v: v in (None, '32s', '16s', '8s')),
    'learn_final_upsampling': ('true, false or null',
                               lambda v: v in (None, True, False)),
    'batch_shape': ('null or (batch, channels, height, width)',
                    lambda v: v is None or (isinstance(v, list) and len(
                        v) == 4 and all(map(_is_int, v)))),
    'signature': ('a dict of parameter name: shape (a list of whole '
                  'numbers)', lambda v: isinstance(v, dict) and all(
                      isinstance(s, list) and all(map(_is_int, s))
                      for s in v.values())),
}
"""What each field of meta.json must hold (missing fields are allowed:
older checkpoints lack some)."""


def _wrong_meta(meta):
    """What is wrong with a meta.json's contents, in words; '' if nothing."""
    if not isinstance(meta, dict):
        return f'it holds a {type(meta).__name__}, not an object of fields'
    for key, (expected, ok) in META_TYPES.items():
        if key in meta and not ok(meta[key]):
            return f'{key} is {json.dumps(meta[key])[:60]}, not {expected}'
    return ''


def load_checkpoint(path, net, trainer=None, devices=None):
    """Load a checkpoint folder (or a net.params file) into net (and trainer).

    Returns the history stored with it ([] for a bare .params file). Raises
    ValueError naming the file when it is missing, corrupt or from a model
    with other layers or another number of classes.
    """
    path = Path(path)
    params = path / 'net.params' if path.is_dir() else path
    if not params.is_file():
        raise FileNotFoundError(f'no checkpoint at {params}')
    history = []
    if path.is_dir():
        meta = read_checkpoint_meta(path)
        if meta.get('num_classes') not in (None, net.num_classes):
            raise ValueError(
                f'{path} was trained for {meta["num_classes"]} classes, the '
                f'model has {net.num_classes}; build the model with '
                f'num_classes={meta["num_classes"]} (on the command line: '
                f'leave out --num-classes, or pass --num-classes '
                f'{meta["num_classes"]})')
        _refuse_other_model(path, meta.get('signature'), net, meta)
        history = meta.get('history', [])
    else:
        _refuse_other_model(path, _signature_in(params), net, {})
    try:
        net.load_parameters(str(params), ctx=devices or [mx.cpu()])
    except Exception as e:
        raise ValueError(f'cannot load {params}: it is corrupt or from '
                         f'another model ({type(e).__name__}: '
                         f'{error_line(e)})') from None
    if trainer is not None and path.is_dir():
        _load_trainer_states(trainer, path / 'trainer.states')
    return history


def _signature_in(params_file):
    """{name: shape} of the arrays in a .params file; ValueError naming the
    file when it is no MXNet parameter file."""
    try:
        arrays = nd.load(str(params_file))
    except MXNetError as e:
        raise ValueError(f'cannot load {params_file}: it is not an MXNet '
                         f'parameter file, or it is cut short '
                         f'({error_line(e)})') from None
    if not isinstance(arrays, dict):
        raise ValueError(f'{params_file} holds unnamed arrays, not the '
                         f'parameters of a net (net.save_parameters)')
    return {name: list(a.shape) for name, a in arrays.items()}


def _refuse_other_model(path, theirs, net, meta):
    """ValueError unless the parameter names and shapes `theirs` (of the
    checkpoint at path; None: not known) are those of net."""
    ours = _model_signature(net)
    if not theirs or theirs == ours:
        return
    names = sorted(set(theirs) ^ set(ours)) or sorted(
        n for n in ours if theirs[n] != ours[n])
    shapes = ', '.join(f'{n} {theirs.get(n)} there, {ours.get(n)} here'
                       for n in names[:2])
    variant = meta.get('variant') or next(
        (v for v in ('8s', '16s') if f'score{v[:-1]}.weight' in theirs),
        '32s' if 'score32.weight' in theirs else None)
    said = f'variant {variant!r}' if variant else 'not an FCN of d2lfcn'
    if meta:
        said += (f', learn_final_upsampling '
                 f'{meta.get("learn_final_upsampling")!r}')
    fix = (f'build the same FCN as the one that was trained (on the command '
           f'line: --variant {variant})' if variant else
           'give the checkpoint of an FCN')
    raise ValueError(f'{path} holds the parameters of another model '
                     f'({said}; {shapes}); {fix}')


def _states_in(states_file):
    """A scratch updater holding the optimizer and the states that a
    trainer.states file holds (an error if it cannot be read whole)."""
    updater = mx.optimizer.get_updater(mx.optimizer.SGD())
    updater.set_states(Path(states_file).read_bytes())
    return updater


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


def _arrays_in(state):
    """The NDArrays an optimizer keeps for one parameter (None, one array,
    or nested tuples of them), flattened into a list."""
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in _arrays_in(s)]
    return [] if state is None else [state]


def _refuse_states_of_another_model(states, trainer, states_file):
    """ValueError when the optimizer state of a parameter does not have the
    parameter's shape: the file belongs to another model (a training step
    would fail deep in MXNet)."""
    params = trainer._params
    for index, state in sorted(states.items()):
        param = params[index] if 0 <= index < len(params) else None
        shapes = {tuple(a.shape) for a in _arrays_in(state)}
        if param is None or shapes - {tuple(param.shape)}:
            what = (f'parameter {param.name} is {tuple(param.shape)}, its '
                    f'state there {sorted(shapes)[0]}' if param is not None
                    else f'it has state for parameter {index}, the trainer '
                         f'has {len(params)}')
            raise ValueError(
                f'{states_file} holds the optimizer state of another model '
                f'({what}); it does not belong with this net.params: '
                f'delete that checkpoint folder to resume from the one '
                f'before it')


def _load_trainer_states(trainer, states_file):
    """Load the optimizer's state (momentum, moment estimates, the count of
    updates) from states_file, but keep the trainer's own hyper-parameters.

    Trainer.load_states replaces the trainer's optimizer by the pickled one,
    with the learning rate, schedule and weight decay it was saved with;
    a run resumed with other settings would silently train with the old
    ones. The settings given now win, and a change is reported.
    """
    given = trainer.optimizer
    corrupt = (f'cannot load {states_file}: it is truncated or corrupt; '
               f'delete that checkpoint folder to resume from the one before '
               f'it')
    try:        # read into a scratch updater first: refuse before any change
        probe = _states_in(states_file)
    except Exception as e:
        raise ValueError(f'{corrupt} ({type(e).__name__})') from None
    if type(probe.optimizer) is not type(given):
        raise ValueError(
            f'{states_file} holds the state of a '
            f'{type(probe.optimizer).__name__} optimizer, the trainer given '
            f'now uses {type(given).__name__}: resume with the same '
            f'optimizer, or start a new run in another folder')
    _refuse_states_of_another_model(probe.states, trainer, states_file)
    try:
        trainer.load_states(str(states_file))
    except Exception as e:
        raise ValueError(f'{corrupt} ({type(e).__name__})') from None
    loaded = trainer.optimizer
    given.num_update = loaded.num_update
    given._index_update_count = dict(loaded._index_update_count)
    given.param_dict = loaded.param_dict
    if trainer._update_on_kvstore:
        trainer._kvstore._updater.optimizer = given
    for updater in trainer._updaters:
        updater.optimizer = given
    trainer._optimizer = given
    changes = [f'{name} {old:g} -> {new:g}' for name, old, new in [
        ('learning rate', loaded.learning_rate, given.learning_rate),
        ('weight decay', loaded.wd, given.wd)] if old != new]
    if changes:
        print(f'resuming with the settings given now, not those of the '
              f'checkpoint: {", ".join(changes)}')


def _clean_leftovers(root):
    """Remove what killed runs left in root: half-written checkpoints, and
    an old checkpoint moved aside during a save (put back when its
    replacement never arrived). Only those of processes that no longer run
    (or of this one) are touched: a live run's files are its own."""
    for left in sorted(root.glob('.epoch-*.*.partial')) + \
            sorted(root.glob('.epoch-*.*.old')):
        match = re.fullmatch(r'\.(epoch-\d{4,})\.(\d+)\.(partial|old)',
                             left.name)
        if not match:
            continue
        name, pid, kind = match.groups()
        if int(pid) != os.getpid() and process_alive(int(pid)):
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


def report_new_batch_shape(shape, resumed_shape):
    """Print what changed when a resumed run trains on batches of another
    shape than the checkpoint's run (as a change of learning rate is)."""
    if resumed_shape is None or list(resumed_shape) == list(shape):
        return
    names = ('batch size', 'channels', 'crop height', 'crop width')
    changes = [f'{name} {old} -> {new}' for name, old, new in
               zip(names, resumed_shape, shape) if old != new]
    print(f'resuming with batches of another shape than the checkpoint\'s '
          f'run: {", ".join(changes)}', flush=True)
