"""Code taught in a notebook and kept in d2lfcn must be the same text."""
import ast
import re

import pytest

from helpers import NOTEBOOKS, ROOT, code_cells

MARKER = re.compile(r'^# Kept in (d2lfcn/\w+\.py)\s*$')


def definitions(source):
    """{name: source text} of the top-level functions and classes, and of
    the constants (NAME = ... assignments at the top level)."""
    tree = ast.parse(source)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = ast.get_source_segment(source, node)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id.isupper():
            found[node.targets[0].id] = ast.get_source_segment(source, node)
    return found


NOT_WRITTEN_OUT = {
    # Public names of modules with kept cells that the notebooks use but do
    # not write out: checks, file handling and the full training machinery.
    'd2lfcn/convolution.py': set(),
    'd2lfcn/upsampling.py': set(),
    'd2lfcn/voc.py': {'EncodedImage', 'checked_voc_dir', 'decoded',
                      'is_complete_voc', 'label_to_rgb', 'read_voc_pair',
                      'refuse_truncated_images', 'split_names', 'voc_palette',
                      'write_label_png', 'IGNORE_LABEL', 'IGNORE_COLOR'},
    'd2lfcn/data.py': {'VOCWholeImages', 'denormalize_image', 'load_data_voc',
                       'random_scale', 'RGB_MEAN', 'RGB_STD'},
    'd2lfcn/model.py': {'BilinearUpsampling', 'FCN', 'fcn_resnet18',
                        'finer_fcn', 'fcn_like', 'pretrained_backbone_file', 'HEADS',
                        'PRETRAINED_NAME', 'VARIANTS'},
    'd2lfcn/training.py': {'average_running_stats', 'evaluate',
                           'poly_trainer', 'train'},
    'd2lfcn/metrics.py': {'SegMetric'},
    'd2lfcn/prediction.py': {'as_rgb_image'},
}


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


def test_every_public_name_is_taught_or_listed():
    """A module with kept cells: each public function, class and constant is
    written out in a notebook or listed in NOT_WRITTEN_OUT (and not both)."""
    taught = {}
    for notebook in NOTEBOOKS:
        for module_path, source in kept_cells(notebook):
            taught.setdefault(module_path, set()).update(definitions(source))
    assert set(taught) == set(NOT_WRITTEN_OUT), \
        'modules with kept cells changed: update NOT_WRITTEN_OUT'
    for module_path, names in taught.items():
        public = {name for name in definitions((ROOT / module_path).read_text())
                  if not name.startswith('_')}
        missing = public - names - NOT_WRITTEN_OUT[module_path]
        assert not missing, f'{module_path}: neither taught in a notebook nor ' \
                            f'listed in NOT_WRITTEN_OUT: {sorted(missing)}'
        both = names & NOT_WRITTEN_OUT[module_path]
        assert not both, f'{module_path}: taught, so not to be listed: {both}'
