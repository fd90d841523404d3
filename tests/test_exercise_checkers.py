"""Every auto-checked exercise's checker keeps the course's promise: it
accepts the reference solution, rejects typical wrong answers saying what
is wrong (never a bare False, never the solution's code), reports the
student stub as "not solved yet" and explains a non-function argument.

The reference solutions and wrong answers live in the chapters' test files
(CHECKERS: checker name -> (solution, [wrong answers])), next to the tests of
each checker's particular diagnoses."""
import inspect

import pytest

import d2lfcn
import test_exercises_ch1_ch2
import test_exercises_ch4
import test_exercises_ch5
import test_exercises_ch6
import test_exercises_ch7
import test_exercises_ch8

CASES = [(name, solution, wrongs)
         for module in (test_exercises_ch1_ch2, test_exercises_ch4,
                        test_exercises_ch5, test_exercises_ch6,
                        test_exercises_ch7, test_exercises_ch8)
         for name, (solution, wrongs) in module.CHECKERS.items()]


def stub(*args):
    raise NotImplementedError


def test_every_exported_checker_is_covered():
    exported = {n for n in dir(d2lfcn) if n.startswith('check_')}
    covered = {name for name, _, _ in CASES} | {
        'check_median_frequency_weights', 'check_crop_coverage'}  # ch3's own
    assert exported == covered


@pytest.mark.parametrize('name,solution,wrongs', CASES,
                         ids=[c[0] for c in CASES])
def test_checker_contract(name, solution, wrongs):
    checker = getattr(d2lfcn, name)
    report = checker(solution)
    texts = {solution: repr(report)}
    assert report.passed and report.status == 'solved', texts[solution]
    assert 'solved, every case is right' in texts[solution]
    assert '✗' not in texts[solution]
    assert len(wrongs) >= 2
    for wrong in wrongs:
        report = checker(wrong)
        texts[wrong] = text = repr(report)
        assert not report.passed and report.status == 'wrong', text
        assert '✗' in text and 'not yet right' in text
        assert any(w in text for w in ('expected', 'got', 'raised')), text
    for fn, text in texts.items():     # never the solution's code
        body = inspect.getsource(fn).splitlines()[-1].strip()
        assert 'def ' not in text and body not in text
    report = checker(stub)
    assert report.status == 'not solved yet' and not report.passed
    assert 'not solved yet' in repr(report)
    report = checker(42)
    assert not report.passed and 'expected a function' in repr(report)
