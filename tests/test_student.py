"""The student edition (make student) takes the solutions out and still runs.

For every chapter present: its solution cells become stubs that keep the
function's signature and docstring, its written answers become a prompt,
everything else is the teacher's. Everything else being the teacher's (which
nbval runs top to bottom) and no cell before the exercises using a solution,
what remains to run is what the stubs touch: the chapter's imports and its
exercises, from a temporary copy in the quick profile; they raise no error
and every checker says "not solved yet". That each checker accepts the
reference solution and rejects typical wrong answers is tested chapter by
chapter in test_exercises_*.py; the last test here makes sure that every
checker a chapter calls is tested there.
"""
import ast
import os
import re
import subprocess
import sys

from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from helpers import NOTEBOOKS, ROOT, is_solution, read_notebook

sys.path.insert(0, str(ROOT / 'tools'))
import make_student  # noqa: E402

pytestmark = pytest.mark.slow   # make test-fast leaves these out


@pytest.fixture(scope='session')
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('student')
    result = subprocess.run(['make', '-s', 'student', f'STUDENT_DIR={out}'],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def checker_cells(nb):
    """Indices of the cells that call a d2lfcn checker in the exercises."""
    start = [c.source.strip() for c in nb.cells].index('## Exercises')
    return [i for i, c in enumerate(nb.cells) if i > start
            and c.cell_type == 'code'
            and make_student.CHECKER_CALL.search(c.source)]


def the_function(source):
    tree = ast.parse(source)
    fn, = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    return fn


def text_of(cell):
    return ''.join(out.get('text', '') or
                   out.get('data', {}).get('text/plain', '')
                   for out in cell.outputs)


def test_the_student_edition_has_every_chapter(student_dir):
    assert sorted(p.name for p in student_dir.glob('*.ipynb')) == \
        [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize('teacher', NOTEBOOKS, ids=lambda p: p.name)
def test_only_the_solutions_are_taken_out(student_dir, teacher):
    ours, theirs = read_notebook(student_dir / teacher.name), \
        read_notebook(teacher)
    assert len(ours.cells) == len(theirs.cells)
    assert ours.metadata == theirs.metadata
    checkers = checker_cells(theirs)
    stubs = 0
    for i, (s, t) in enumerate(zip(ours.cells, theirs.cells)):
        where = f'{teacher.name}, cell {i}'
        assert s.cell_type == t.cell_type, where
        if is_solution(t) and t.cell_type == 'code':
            stubs += 1
            fs, ft = the_function(s.source), the_function(t.source)
            assert (fs.name, ast.dump(fs.args)) == (ft.name, ast.dump(ft.args))
            assert ast.get_docstring(fs) == ast.get_docstring(ft), where
            body = fs.body[1:] if ast.get_docstring(ft) else fs.body
            assert [ast.unparse(n) for n in body] == \
                ['raise NotImplementedError'], where
            assert make_student.STUB in s.source
            assert s.outputs == [] and s.execution_count is None, where
        elif is_solution(t):
            assert s.source == make_student.STUDENT_PROMPT, where
        elif i in checkers:
            assert t.source.startswith('# NBVAL_CHECK_OUTPUT\n'), where
            assert s.source == t.source.split('\n', 1)[1], where
            assert 'NBVAL' not in s.source, where
            assert s.outputs == [] and s.execution_count is None, where
        else:
            assert s == t, f'{where} should be unchanged'
    assert stubs == len(checkers) >= 2, teacher.name


# Runs one notebook in place with nbclient; exit 1 and the error on failure.
RUNNER = """
import sys
import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
try:
    NotebookClient(nb, timeout=900, kernel_name='python3', resources={
        'metadata': {'path': sys.argv[2]}}).execute()
finally:
    nbformat.write(nb, path)
"""


def setup_and_exercises(nb):
    """The cells a stub can affect: the first code cell (the chapter's
    imports) and everything from '## Exercises' on, except the cells tagged
    uses-chapter, which measure with what the chapter computed (its trained
    net, its data) and so run only after it (nbval runs them so)."""
    first = next(c for c in nb.cells if c.cell_type == 'code')
    start = [c.source.strip() for c in nb.cells].index('## Exercises')
    return [first] + [c for c in nb.cells[start:]
                      if 'uses-chapter' not in c.metadata.get('tags', [])]


@pytest.mark.parametrize('teacher', NOTEBOOKS, ids=lambda p: p.name)
def test_no_cell_before_the_exercises_uses_a_solution(teacher):
    """So the student edition's chapter body is the teacher's, which runs."""
    nb = read_notebook(teacher)
    names = {the_function(c.source).name for c in nb.cells
             if is_solution(c) and c.cell_type == 'code'}
    start = [c.source.strip() for c in nb.cells].index('## Exercises')
    for cell in nb.cells[:start]:
        if cell.cell_type == 'code':
            used = names & {node.id for node in ast.walk(ast.parse(
                cell.source)) if isinstance(node, ast.Name)}
            assert not used, f'{teacher.name}: {used} used before exercises'


@pytest.fixture(scope='session')
def student_runs(student_dir, tmp_path_factory):
    """The imports and exercises of every chapter of the student edition,
    run two at a time.

    Each runs as a chapter opened on its own in a fresh kernel: from its own
    copy, in its own working folder and its own empty data folder
    (D2LFCN_DATA), in the quick profile, and no two runs share a file (nor
    touch data/). Yields {name: future of (returncode, output, notebook
    path)}.
    """
    root = tmp_path_factory.mktemp('student-runs')

    def run(name):
        work = root / name.split('_')[0]     # '04', '04b'
        (work / 'data').mkdir(parents=True)
        copy = work / name
        nb = read_notebook(student_dir / name)
        nb.cells = setup_and_exercises(nb)
        nbformat.write(nb, str(copy))
        env = dict(os.environ, D2LFCN_QUICK='1',
                   D2LFCN_DATA=str(work / 'data'),
                   OMP_NUM_THREADS='1')   # two kernels share two cores
        result = subprocess.run(
            [sys.executable, '-c', RUNNER, str(copy), str(work)], env=env,
            capture_output=True, text=True, timeout=900)
        return result.returncode, result.stdout + result.stderr, copy
    with ThreadPoolExecutor(max_workers=2) as pool:
        # the later chapters run longest: start them first
        futures = {p.name: pool.submit(run, p.name)
                   for p in reversed(NOTEBOOKS)}
        yield futures


@pytest.mark.parametrize('teacher', NOTEBOOKS, ids=lambda p: p.name)
def test_the_student_edition_runs_and_reports_not_solved_yet(
        student_runs, teacher):
    """Imports and exercises, quick profile, from a copy: no error, no
    checker passes or crashes, each says "not solved yet"."""
    returncode, output, executed = student_runs[teacher.name].result()
    assert returncode == 0, f'{teacher.name} (student edition) failed:\n' \
        f'{output[-4000:]}'
    nb = nbformat.read(str(executed), as_version=4)
    errors = [out for cell in nb.cells for out in cell.get('outputs', [])
              if out.output_type == 'error']
    assert not errors
    assert all(cell.execution_count for cell in nb.cells
               if cell.cell_type == 'code'), 'a cell was not run'
    checkers = checker_cells(nb)
    assert len(checkers) >= 2
    for i in checkers:
        report = text_of(nb.cells[i])
        first = report.splitlines()[0] if report else ''
        assert re.match(r'Exercise \d+b?\.\d+ .*: not solved yet$', first), \
            f'{teacher.name}, cell {i}: {report!r}'
        assert 'Traceback' not in report


def test_every_checker_of_a_chapter_is_tested():
    """test_exercises_*.py (and friends) test every checker the chapters
    call, with the reference solution and with typical wrong answers."""
    tests = ''.join(p.read_text() for p in (ROOT / 'tests').glob('test_*.py')
                    if p.name != 'test_student.py')
    untested = []
    for path in NOTEBOOKS:
        nb = read_notebook(path)
        for i in checker_cells(nb):
            for name in re.findall(r'\bd2lfcn\.(check_\w+)\s*\(',
                                   nb.cells[i].source):
                if not re.search(rf'\b{name}\b', tests):
                    untested.append(f'{path.name}: {name}')
    assert not untested, 'checkers without a test in tests/: ' + \
        ', '.join(untested)


def test_generator_keeps_signature_and_docstring():
    source = ('import numpy as np\n\n'
              'def f(x,\n      y=2):\n'
              '    """Add.\n\n    Two lines."""\n'
              '    def helper(z):\n        return z\n'
              '    return helper(x) + y\n')
    stub = make_student.stub_function(source)
    assert stub == ('import numpy as np\n\n'
                    'def f(x,\n      y=2):\n'
                    '    """Add.\n\n    Two lines."""\n'
                    '    raise NotImplementedError  # your code here')
    no_doc = make_student.stub_function('def g(a):\n    return a\n')
    assert no_doc == 'def g(a):\n    raise NotImplementedError  # your code here'
    namespace = {}
    exec(no_doc, namespace)
    with pytest.raises(NotImplementedError):
        namespace['g'](1)
    with pytest.raises(make_student.FormatError, match='exactly one'):
        make_student.stub_function('def a():\n    pass\ndef b():\n    pass\n')


def test_make_student_never_replaces_existing_chapters(student_dir):
    """A teacher's edited student copies are kept unless OVERWRITE=1."""
    first = sorted(student_dir.glob('*.ipynb'))[0]
    first.write_text(first.read_text() + ' ')      # a teacher's edit
    edited = first.read_text()
    result = subprocess.run(['make', '-s', 'student',
                             f'STUDENT_DIR={student_dir}'],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert 'already exists' in result.stderr and 'OVERWRITE=1' in result.stderr
    assert first.read_text() == edited
    result = subprocess.run(['make', '-s', 'student', 'OVERWRITE=1',
                             f'STUDENT_DIR={student_dir}'],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert first.read_text() != edited
