"""Code taught in a notebook and kept in d2lfcn is the same text; the
notebooks are the master copy and tools/sync_code.py brings the package in
line (see CONTRIBUTING.md)."""
import shutil
import sys

import nbformat

from helpers import ROOT

sys.path.insert(0, str(ROOT / 'tools'))
import sync_code  # noqa: E402


def test_the_package_matches_the_notebooks():
    problems = sync_code.sync(write=False)
    assert not problems, '\n'.join(problems)


def test_every_module_with_kept_cells_points_to_its_notebook():
    for module, names in sync_code.taught().items():
        text = (ROOT / module).read_text()
        assert sync_code.POINTER in text, module
        for notebook, _, _ in names.values():
            assert f'notebooks/{notebook}' in text, (module, notebook)


def copy_of_course(tmp_path):
    shutil.copytree(ROOT / 'notebooks', tmp_path / 'notebooks',
                    ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    shutil.copytree(ROOT / 'd2lfcn', tmp_path / 'd2lfcn',
                    ignore=shutil.ignore_patterns('__pycache__'))
    return tmp_path


def edit_kept_cell(root, module, old, new):
    """Replace old by new in the first kept cell for module that holds it."""
    for notebook in sync_code.notebooks(root):
        nb = nbformat.read(str(notebook), as_version=4)
        for cell in nb.cells:
            if cell.source.startswith(f'# Kept in {module}') and \
                    old in cell.source:
                cell.source = cell.source.replace(old, new, 1)
                nbformat.write(nb, str(notebook))
                return notebook.name
    raise AssertionError(f'no kept cell for {module} holds {old!r}')


def test_a_change_in_a_notebook_is_copied_into_the_module(tmp_path):
    root = copy_of_course(tmp_path)
    name = edit_kept_cell(root, 'd2lfcn/convolution.py', 'def corr2d(X, K):',
                          'def corr2d(X, K):  # edited')
    problems = sync_code.sync(root, write=False)
    assert problems == [f'{name}, cell {problems[0].split("cell ")[1]}'], \
        problems
    assert 'corr2d differs from d2lfcn/convolution.py' in problems[0]
    assert sync_code.sync(root) == []
    assert 'def corr2d(X, K):  # edited' in \
        (root / 'd2lfcn' / 'convolution.py').read_text()
    assert sync_code.sync(root, write=False) == []


def test_a_definition_the_module_lacks_is_reported(tmp_path):
    root = copy_of_course(tmp_path)
    edit_kept_cell(root, 'd2lfcn/convolution.py', 'def corr2d(X, K):',
                   'def added():\n    return 1\n\n\ndef corr2d(X, K):')
    problems = sync_code.sync(root)
    assert len(problems) == 1 and 'added is not in d2lfcn/convolution.py' \
        in problems[0] and 'by hand' in problems[0]
