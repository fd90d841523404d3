"""Bring the package's copy of the code the notebooks teach in line with them.

    python tools/sync_code.py           copy, then say what changed
    python tools/sync_code.py --check   change nothing; exit 1 and name each
                                        difference (make test runs this check)

The notebooks are the master copy. A code cell whose first line is
``# Kept in d2lfcn/NAME.py`` writes out functions, classes or constants
(UPPER_CASE = ...) that the package keeps too; each must be the same text in
the module. This tool copies each such definition from the notebook over the
module's, and keeps one comment line after each module's docstring that says
which notebook teaches what, and which public names no notebook writes out.
A definition the module lacks, or a module changed by hand so that it
differs, is reported, never guessed: edit the notebook, then run the tool.
Standard library and nbformat only.
"""
import ast
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r'^# Kept in (d2lfcn/\w+\.py)\s*$')
POINTER = '# Taught in '


def definitions(source):
    """{name: source text} of the top-level functions, classes and constants
    (NAME = ... assignments) of a module or a cell, in order."""
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


def notebooks(root=ROOT):
    return sorted((root / 'notebooks').glob('[0-9][0-9]*_*.ipynb'))


def kept_cells(notebook):
    """(module path, cell number, source) of every kept cell of a notebook;
    the number counts all cells from 0, as JupyterLab does from 1."""
    nb = nbformat.read(str(notebook), as_version=4)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != 'code':
            continue
        match = MARKER.match(cell.source.split('\n', 1)[0])
        if match:
            yield match.group(1), number, cell.source


def taught(root=ROOT):
    """{module path: {name: (notebook name, cell number, text)}}."""
    found = {}
    for notebook in notebooks(root):
        for module, number, source in kept_cells(notebook):
            for name, text in definitions(source).items():
                found.setdefault(module, {})[name] = (notebook.name, number,
                                                      text)
    return found


def pointer(module_text, names):
    """The comment line that says where the module's kept code is taught."""
    by_notebook = {}
    for name, (notebook, _, _) in names.items():
        by_notebook.setdefault(notebook, []).append(name)
    public = [n for n in definitions(module_text) if not n.startswith('_')]
    rest = [n for n in public if n not in names]
    parts = [f'notebooks/{nb} ({", ".join(ns)})'
             for nb, ns in by_notebook.items()]
    line = (POINTER + '; '.join(parts) + ': edit there, then run python '
            'tools/sync_code.py. Not written out in a notebook: '
            + (', '.join(rest) or 'nothing') + '.')
    words, lines = line.split(' '), ['#']
    for word in words[1:]:         # wrapped at 79 columns
        if len(lines[-1]) + 1 + len(word) > 79:
            lines.append('#')
        lines[-1] += ' ' + word
    return '\n'.join(lines) + '\n'


def with_pointer(module_text, comment):
    """module_text with its pointer comment, right after the docstring, set
    to comment (the old one, whose last line ends with a full stop, goes)."""
    tree = ast.parse(module_text)
    first = tree.body[0] if tree.body else None
    end = first.end_lineno if isinstance(first, ast.Expr) and isinstance(
        first.value, ast.Constant) else 0
    lines = module_text.splitlines(True)
    rest = lines[end:]
    if rest and rest[0].startswith(POINTER):
        while rest:
            line = rest.pop(0)
            if line.rstrip().endswith('.'):
                break
    return ''.join(lines[:end]) + comment + ''.join(rest)


def sync(root=ROOT, write=True):
    """Compare (and with write=True, update) every module with kept cells.
    Returns the list of differences, each one line naming the notebook, the
    cell and the definition; after a write only what could not be fixed."""
    problems = []
    for module, names in sorted(taught(root).items()):
        path = root / module
        text = path.read_text()
        in_module = definitions(text)
        new = text
        for name, (notebook, number, cell_text) in names.items():
            where = f'{notebook}, cell {number + 1}: {name}'
            if name not in in_module:
                problems.append(f'{where} is not in {module}; add it there '
                                f'by hand once')
            elif in_module[name] != cell_text:
                if write and new.count(in_module[name]) == 1:
                    new = new.replace(in_module[name], cell_text)
                    print(f'{module}: {name} copied from {notebook}, cell '
                          f'{number + 1}')
                else:
                    problems.append(f'{where} differs from {module}')
        new = with_pointer(new, pointer(new, names))
        if new != text:
            if write:
                path.write_text(new)
            elif not any(p.endswith(f'differs from {module}')
                         for p in problems):
                problems.append(f'{module}: its "{POINTER.strip()}" comment '
                                f'is out of date')
    return problems


def main(argv):
    check = '--check' in argv[1:]
    problems = sync(write=not check)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and check:
        print('The notebooks are the master copy: run python '
              'tools/sync_code.py to copy them into d2lfcn.', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
