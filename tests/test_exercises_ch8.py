"""The chapter-8 checkers accept the reference solutions, reject typical
mistakes saying what is wrong, and agree with the package: the newest
checkpoint is the one list_checkpoints ends with, and the loss scales follow
MXNet's own LossScaler."""
import re
from pathlib import Path

import pytest

import d2lfcn
from d2lfcn import checkpoints
from d2lfcn.exercises.ch08 import _loss_scales_reference, _make_checkpoints

from helpers import solution


# ---- reference solutions: the notebooks' solution cells ------------------

newest_checkpoint = solution('08', 'newest_checkpoint')


loss_scales = solution('08', 'loss_scales')


# ---- typical wrong answers ------------------------------------------------

def newest_any_folder(folder):
    folder = Path(folder)
    if not folder.is_dir():
        return None
    return max((p for p in folder.iterdir() if p.name.startswith('epoch-')),
               default=None)


def newest_including_partial(folder):
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [p for p in folder.iterdir() if p.is_dir()
             and (p / 'meta.json').is_file() and 'epoch-' in p.name]
    return max(found, key=lambda p: p.name.strip('.'), default=None)


def newest_crashes_on_missing(folder):
    return max(p for p in Path(folder).iterdir()
               if re.fullmatch(r'epoch-\d{4}', p.name))


def scales_same_step(overflows, start, window, maximum):
    return _loss_scales_reference(overflows, start, window, maximum,
                                  'same_step')


def scales_no_reset(overflows, start, window, maximum):
    return _loss_scales_reference(overflows, start, window, maximum,
                                  'no_reset')


def scales_no_cap(overflows, start, window, maximum):
    return _loss_scales_reference(overflows, start, window, maximum, 'no_cap')


CHECKERS = {
    'check_newest_checkpoint': (
        newest_checkpoint, [newest_any_folder, newest_including_partial,
                            newest_crashes_on_missing]),
    'check_loss_scales': (
        loss_scales, [scales_same_step, scales_no_reset, scales_no_cap]),
}


@pytest.mark.parametrize('checker, wrong, phrase', [
    (d2lfcn.check_newest_checkpoint, newest_any_folder, 'all three files'),
    (d2lfcn.check_newest_checkpoint, newest_including_partial,
     'never renamed'),
    (d2lfcn.check_newest_checkpoint, newest_crashes_on_missing, 'raised'),
    (d2lfcn.check_loss_scales, scales_same_step, 'one step too early'),
    (d2lfcn.check_loss_scales, scales_no_reset, 'starts again'),
    (d2lfcn.check_loss_scales, scales_no_cap, 'never grows past')])
def test_typical_mistakes_get_their_diagnosis(checker, wrong, phrase):
    assert phrase in repr(checker(wrong))


def test_newest_checkpoint_agrees_with_list_checkpoints(tmp_path):
    full = list(checkpoints.CHECKPOINT_FILES)
    _make_checkpoints(tmp_path, {'epoch-0001': full, 'epoch-0002': full,
                                 'epoch-0003': full[:2],
                                 '.epoch-0004.partial': full})
    assert newest_checkpoint(tmp_path) == checkpoints.list_checkpoints(
        tmp_path)[-1]


def test_loss_scales_follow_mxnets_loss_scaler():
    """Drive MXNet's LossScaler with gradients that are finite or not: the
    scale it reports after checking each step's gradients is the sequence
    of the reference (halve after an overflow, double after `window` good
    steps)."""
    import mxnet as mx
    from mxnet import gluon, nd
    from mxnet.contrib.amp.loss_scaler import LossScaler
    scaler = LossScaler()
    scaler._scale_seq_len = 3
    param = gluon.Parameter('w', shape=(2,))
    param.initialize(ctx=mx.cpu())
    overflows = [False, True, False, False, False, False, True, True, False,
                 False, False, False]
    reported = []
    for overflow in overflows:
        param.grad()[:] = nd.array([1, float('inf') if overflow else 2])
        scaler.has_overflow([param])
        reported.append(scaler.loss_scale)
    assert reported == _loss_scales_reference(overflows, 2 ** 16, 3, 2 ** 24)
