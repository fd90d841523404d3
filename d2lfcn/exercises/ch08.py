"""Checkers of chapter 8: engineering notes."""
import numpy as np

from d2lfcn.exercises.common import _check, _compare


def _make_checkpoints(root, spec):
    """Folders and files under root: spec maps a name to a list of file
    names (a folder) or to None (a plain file)."""
    from pathlib import Path
    root = Path(root)
    for name, files in spec.items():
        if files is None:
            (root / name).write_text('not a folder')
            continue
        (root / name).mkdir(parents=True)
        for f in files:
            (root / name / f).write_bytes(b'x')


def check_newest_checkpoint(fn):
    """Exercise 8.1: fn(folder) returns the Path of the newest complete
    checkpoint folder in `folder` (named epoch-NNNN, holding net.params,
    trainer.states and meta.json), or None; checked on folders with partial,
    incomplete and misnamed entries."""
    import tempfile
    from pathlib import Path
    full = ['net.params', 'trainer.states', 'meta.json']
    layouts = [
        ('two complete checkpoints', {'epoch-0001': full, 'epoch-0002': full},
         'epoch-0002', None),
        ('the newest lacks trainer.states (a crash while saving)',
         {'epoch-0002': full, 'epoch-0003': full[:1] + full[2:]},
         'epoch-0002', 'a folder is a checkpoint only if it holds all three '
         'files'),
        ('a complete .epoch-0004.partial next to epoch-0003',
         {'epoch-0003': full, '.epoch-0004.partial': full}, 'epoch-0003',
         'a partial folder was never renamed: it is not a checkpoint, even '
         'with all its files'),
        ('epoch-0010 and epoch-0009', {'epoch-0009': full, 'epoch-0010': full},
         'epoch-0010', None),
        ('a file named epoch-0005 and a folder epoch-0004',
         {'epoch-0004': full, 'epoch-0005': None}, 'epoch-0004',
         'epoch-0005 is a file, not a folder'),
        ('other folders: notes, epoch-1, best', {'notes': full, 'epoch-1': full,
                                                 'best': full, 'epoch-0001': full},
         'epoch-0001', 'only names epoch- followed by four digits count'),
        ('an empty folder', {}, None, 'return None when there is nothing'),
        ('a folder that does not exist', 'missing', None,
         'a folder that does not exist holds no checkpoint: return None')]
    cases = []
    for description, spec, expected, hint in layouts:

        def case(fn, spec=spec, expected=expected, hint=hint):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp) / 'run'
                if spec != 'missing':
                    root.mkdir()
                    _make_checkpoints(root, spec)
                got = fn(root)
                want = None if expected is None else root / expected
                if got is None and want is None:
                    return None
                if got is None or want is None or Path(got) != want:
                    name = None if got is None else Path(got).name
                    problem = (f'expected {expected if expected else None}, '
                               f'got {name!r}')
                    return problem + (f': {hint}' if hint else '')
            return None
        cases.append((description, case))
    return _check('Exercise 8.1 (the newest complete checkpoint)', fn, cases)


def _loss_scales_reference(overflows, start, window, maximum, mistake=None):
    """The loss scale used at every step by MXNet's dynamic loss scaler, or a
    typical mistake: 'same_step' (the change applied to the step that
    caused it), 'no_reset' (good steps still counted across an overflow),
    'no_cap'."""
    scales, scale, good = [], start, 0
    for overflow in overflows:
        if mistake == 'same_step':
            if overflow:
                scale, good = scale / 2, 0
            else:
                good += 1
                if good == window:
                    scale, good = scale * 2, 0
            scales.append(scale)
            continue
        scales.append(scale)
        if overflow:
            scale = scale / 2
            if mistake != 'no_reset':
                good = 0
        else:
            good += 1
        if good == window:
            good = 0
            scale = scale * 2 if mistake == 'no_cap' else min(maximum,
                                                              scale * 2)
    return scales


def check_loss_scales(fn):
    """Exercise 8.2: fn(overflows, start, window, maximum) returns the loss
    scale used at every step of mixed-precision training with dynamic loss
    scaling, compared with MXNet's rule (halve after an overflow and start
    counting again; double after `window` steps in a row without one, up to
    `maximum`)."""
    rng = np.random.default_rng(82)
    runs = [
        ('5 steps, no overflow, window 2000', [False] * 5, 2 ** 16, 2000,
         2 ** 24),
        ('overflows in the first 3 steps', [True] * 3 + [False] * 3, 2 ** 16,
         2000, 2 ** 24),
        ('window 3, no overflow', [False] * 10, 8, 3, 2 ** 24),
        ('window 3, overflow at step 2 of each run', [False, True, False,
                                                      False, False, False,
                                                      True, False, False,
                                                      False], 8, 3, 2 ** 24),
        ('window 2, the maximum reached', [False] * 9, 4, 2, 16),
        ('window 4, 40 random steps', list(rng.random(40) < 0.15), 2 ** 10, 4,
         2 ** 12)]
    cases = []
    for description, overflows, start, window, maximum in runs:

        def case(fn, overflows=overflows, start=start, window=window,
                 maximum=maximum):
            args = (overflows, start, window, maximum)
            expected = np.array(_loss_scales_reference(*args), float)
            answer = fn(list(overflows), start, window, maximum)
            try:
                got = np.asarray(answer, dtype=np.float64)
            except (TypeError, ValueError):
                return f'expected a list of numbers, got {answer!r:.80}'
            return _compare(got, expected, [
                (np.array(_loss_scales_reference(*args, 'same_step'), float),
                 'Each change comes one step too early: the overflow is found '
                 'in the gradients of a step that already used its scale, so '
                 'the new scale is the next step\'s'),
                (np.array(_loss_scales_reference(*args, 'no_reset'), float),
                 'After an overflow the count of good steps starts again '
                 'from 0'),
                (np.array(_loss_scales_reference(*args, 'no_cap'), float),
                 'The scale never grows past `maximum`')])
        cases.append((description, case))
    return _check('Exercise 8.2 (dynamic loss scaling)', fn, cases)
