"""Reading a checkpoint back: its meta.json checked field by field, its
parameters checked against the model they are loaded into, and the
optimizer's state loaded into a trainer that keeps the settings given now.
Each mistake (a file edited, swapped or from another model) is named before
anything is changed.
"""
import json
from pathlib import Path

import mxnet as mx
from mxnet import nd
from mxnet.base import MXNetError

from d2lfcn.validate import error_line


def _model_signature(net):
    """Parameter names and shapes: tells checkpoints of other models apart."""
    return {name: list(p.shape) for name, p in
            net._collect_params_with_prefix().items()}


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
    fix = _how_to_match(theirs, ours, variant, net) if variant else \
        'give the checkpoint of an FCN'
    raise ValueError(f'{path} holds the parameters of another model '
                     f'({said}; {shapes}); {fix}')


def _how_to_match(theirs, ours, variant, net):
    """What to build to load the parameters `theirs` of an FCN: the
    arguments (and options) that differ from net's."""
    fixes = []
    if variant != getattr(net, 'variant', variant):
        fixes.append(f"variant='{variant}' (--variant {variant})")
    classes = theirs.get('score32.weight', [None])[0]
    if classes not in (None, getattr(net, 'num_classes', classes)):
        fixes.append(f'num_classes={classes} (--num-classes {classes})')
    up, our_up = theirs.get('up_final.weight'), ours.get('up_final.weight')
    if up and our_up and up[1:2] != our_up[1:2]:
        fixes.append(f'learn_final_upsampling={up[1] != 1} (the command '
                     f'line reads it from the meta.json of a checkpoint '
                     f'folder)')
    return ('build the same FCN as the one that was trained'
            + (': ' + ', '.join(fixes) if fixes else ''))


def _states_in(states_file):
    """A scratch updater holding the optimizer and the states that a
    trainer.states file holds (an error if it cannot be read whole)."""
    updater = mx.optimizer.get_updater(mx.optimizer.SGD())
    updater.set_states(Path(states_file).read_bytes())
    return updater


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
