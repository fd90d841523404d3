"""Shared machinery of the checkers: the report, the case loop, array comparison."""
import numpy as np

from d2lfcn.validate import as_numpy


class Report:
    """The outcome of one checker: a status and one line per case.

    status is 'solved', 'wrong' or 'not solved yet'; ``passed`` is True only
    when every case was right.
    """

    def __init__(self, exercise):
        self.exercise = exercise
        self.lines = []
        self.status = 'solved'

    @property
    def passed(self):
        return self.status == 'solved'

    def __repr__(self):
        verdict = {'solved': 'solved, every case is right',
                   'wrong': 'not yet right, see the cases marked ✗',
                   'not solved yet': 'not solved yet'}[self.status]
        return '\n'.join([f'{self.exercise}: {verdict}'] + self.lines)


def _check(exercise, fn, cases):
    """Run ``problem = case(fn)`` for each (description, case); None = right."""
    report = Report(exercise)
    if not callable(fn):
        report.status = 'wrong'
        report.lines.append(f'  ✗ expected a function, got '
                            f'{type(fn).__name__}: pass the function itself, '
                            f'without calling it')
        return report
    for description, case in cases:
        try:
            problem = case(fn)
        except NotImplementedError:
            report.status = 'not solved yet'
            report.lines = ['  Replace the line `raise NotImplementedError` '
                            'with your code, run that cell, then this one.']
            return report
        except Exception as e:  # the learner's code failed: say how
            problem = f'your function raised {type(e).__name__}: {e}'
        if problem is None:
            report.lines.append(f'  ✓ {description}')
        else:
            report.status = 'wrong'
            report.lines.append(f'  ✗ {description}: {problem}')
    return report


def _compare(got, expected, hints=()):
    """None if `got` equals `expected` (to 1e-5), else what differs.

    hints: (array, message) pairs; if `got` equals one of those arrays, the
    message (the diagnosis of a typical mistake) is added.
    """
    try:
        got = as_numpy(got, np.float64)
    except (TypeError, ValueError):
        return f'expected an array, got {type(got).__name__}'
    if got.shape != expected.shape:
        return f'expected shape {expected.shape}, got {got.shape}'
    if np.allclose(got, expected, atol=1e-5):
        return None
    err = np.abs(got - expected)
    where = np.unravel_index(err.argmax(), err.shape)
    problem = (f'shape {got.shape} is right but values differ: at index '
               f'{tuple(int(i) for i in where)} expected '
               f'{expected[where]:.4f}, got {got[where]:.4f}')
    for wrong, message in hints:
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=1e-5):
            return problem + '. ' + message
    return problem


def _compare_number(got, expected, hints=()):
    """None if the number `got` equals `expected` (to 1e-6), else why not."""
    got = float(as_numpy(got, np.float64).reshape(()))
    if np.isclose(got, expected, rtol=0, atol=1e-6):
        return None
    problem = f'expected {expected:.4f}, got {got:.4f}'
    for wrong, message in hints:
        if np.isclose(got, wrong, rtol=0, atol=1e-6):
            return problem + '. ' + message
    return problem


def _resnet18_layers(stages=4):
    """(kernel, stride, padding) along ResNet-18's convolutions and pooling,
    up to the end of stage `stages`."""
    layers = [(7, 2, 3), (3, 2, 1)]
    for stage in range(1, stages + 1):
        layers += [(3, 1 if stage == 1 else 2, 1)] + [(3, 1, 1)] * 3
    return layers


def _vgg16_fc6_layers():
    """VGG-16 up to fc6 as the FCN reference builds it: conv1_1 pads 100,
    the other 3x3 convolutions 1, 2x2 poolings none, fc6 is 7x7 unpadded."""
    layers = []
    for block, convs in enumerate((2, 2, 3, 3, 3)):
        first = (3, 1, 100 if block == 0 else 1)
        layers += [first] + [(3, 1, 1)] * (convs - 1) + [(2, 2, 0)]
    return layers + [(7, 1, 0)]
