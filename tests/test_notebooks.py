"""Every chapter notebook is a finished, honestly run chapter."""
import re

import pytest

from helpers import NOTEBOOKS, read_notebook

CHAPTERS = ['01_transposed_convolution.ipynb',
            '02_upsampling_and_bilinear_kernel.ipynb',
            '03_semantic_segmentation_data.ipynb', '04_fcn_model.ipynb',
            '04b_where_scores_land.ipynb',
            '05_training.ipynb', '06_prediction.ipynb',
            '07_fcn16s_fcn8s_and_experiments.ipynb',
            '08_engineering_notes.ipynb']


def test_the_chapters_exist():
    names = [p.name for p in NOTEBOOKS]
    for chapter in CHAPTERS:
        assert chapter in names


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_kernel_is_python3(path):
    nb = read_notebook(path)
    assert nb.metadata.kernelspec.name == 'python3'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_come_from_one_clean_run(path):
    nb = read_notebook(path)
    counts = []
    for cell in nb.cells:
        if cell.cell_type != 'code':
            continue
        assert cell.execution_count is not None, \
            f'{path.name}: a cell was never run:\n{cell.source[:200]}'
        counts.append(cell.execution_count)
        for out in cell.outputs:
            assert out.output_type != 'error', \
                f'{path.name}: stored error output in\n{cell.source[:200]}'
            assert not (out.output_type == 'stream' and out.name == 'stderr'
                        and 'Traceback' in out.text)
    assert counts == list(range(1, len(counts) + 1)), \
        f'{path.name}: cells were not run once each, top to bottom'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_like_a_chapter(path):
    nb = read_notebook(path)
    markdown = [c for c in nb.cells if c.cell_type == 'markdown']
    code = [c for c in nb.cells if c.cell_type == 'code']
    assert markdown[0].source.startswith('# '), 'starts with a title'
    assert len(markdown) >= len(code) // 2, 'explains its code'
    # short cells; a kept class or function is one idea, so it may run longer
    long_cells = [c.source for c in code if len(c.source.splitlines()) > (
        60 if c.source.startswith('# Kept in ') else 30)]
    assert not long_cells, f'cell too long: {long_cells[0][:100]}'
    assert any('NBVAL_CHECK_OUTPUT' in c.source for c in code), \
        'proves something with a checked output'
    figures = sum('image/png' in out.get('data', {})
                  for c in code for out in c.outputs)
    assert figures >= 1, 'has at least one figure'
    for cell in code:   # files found through d2lfcn, not the working dir
        assert not re.search(r"""['"]\.\./(img|data)""", cell.source)


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_follow_the_course_format(path):
    nb = read_notebook(path)
    sources = [c.source for c in nb.cells]
    assert '## Exercises' in [s.strip() for s in sources], \
        'ends with "## Exercises"'
    start = [s.strip() for s in sources].index('## Exercises')
    tail = nb.cells[start + 1:]
    titles = [c for c in tail if c.cell_type == 'markdown'
              and re.match(r'### Exercise \d+b?\.\d+: ', c.source)]
    assert len(titles) >= 2
    solutions = [i for i, c in enumerate(tail)
                 if 'solution' in c.metadata.get('tags', [])]
    checked = 0
    for i in solutions:
        cell = tail[i]
        if cell.cell_type == 'code':
            assert len(re.findall(r'^def ', cell.source, re.M)) == 1, \
                'a solution code cell defines exactly one function'
            follow = tail[i + 1]
            assert follow.cell_type == 'code' and 'check_' in follow.source
            report = ''.join(o.get('text', '') or
                             o.get('data', {}).get('text/plain', '')
                             for o in follow.outputs)
            assert 'solved, every case is right' in report, \
                f'the reference solution does not pass its checker:\n{report}'
            checked += 1
    assert checked >= 2, 'at least two auto-checked exercises'
