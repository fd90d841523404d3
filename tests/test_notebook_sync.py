"""Code taught in a notebook and kept in d2lfcn must be the same text."""
import ast
import re

import pytest

from conftest import NOTEBOOKS, ROOT, code_cells

MARKER = re.compile(r'^# Kept in (d2lfcn/\w+\.py)\s*$')


def definitions(source):
    """{name: source text} of the top-level functions and classes."""
    tree = ast.parse(source)
    return {node.name: ast.get_source_segment(source, node)
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def kept_cells(notebook):
    for cell in code_cells(notebook):
        first = cell.source.split('\n', 1)[0]
        match = MARKER.match(first)
        if match:
            yield match.group(1), cell.source


@pytest.mark.parametrize('notebook', NOTEBOOKS, ids=lambda p: p.name)
def test_kept_functions_match_package(notebook):
    for module_path, source in kept_cells(notebook):
        in_cell = definitions(source)
        assert in_cell, f'{notebook.name}: a cell marked "# Kept in ' \
                        f'{module_path}" defines nothing'
        in_module = definitions((ROOT / module_path).read_text())
        for name, text in in_cell.items():
            assert name in in_module, \
                f'{notebook.name} defines {name}, which {module_path} lacks'
            assert text == in_module[name], (
                f'{name} in {notebook.name} differs from {module_path}; '
                f'copy one onto the other')


def test_taught_modules_are_fully_taught():
    """Every public function of the chapter modules is taught somewhere."""
    taught = {}
    for notebook in NOTEBOOKS:
        for module_path, source in kept_cells(notebook):
            taught.setdefault(module_path, set()).update(definitions(source))
    for module_path in ('d2lfcn/convolution.py', 'd2lfcn/upsampling.py'):
        public = {name for name in definitions((ROOT / module_path).read_text())
                  if not name.startswith('_')}
        missing = public - taught.get(module_path, set())
        assert not missing, f'{module_path}: not taught in any notebook: ' \
                            f'{sorted(missing)}'
