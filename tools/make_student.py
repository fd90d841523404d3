"""Write the student edition of the course (make student).

    python tools/make_student.py [NOTEBOOK_DIR [OUT_DIR]]
    (defaults: notebooks/ and student/; refuses to replace existing
    chapters there unless the environment variable OVERWRITE=1 is set)

The notebooks are the teacher edition. In the student edition, written to
OUT_DIR (one notebook per chapter, same names), with everything else left as
it is:

- every code cell tagged ``solution`` keeps its function's signature and
  docstring, and its body becomes ``raise NotImplementedError  # your code
  here``; its outputs are cleared;
- every checker cell (a code cell after ``## Exercises`` whose first line is
  ``# NBVAL_CHECK_OUTPUT`` and that calls ``d2lfcn.check_...``) loses that
  first line and its outputs, so it reports "not solved yet" when run;
- every markdown cell tagged ``solution`` becomes the prompt STUDENT_PROMPT.

Standard library and nbformat only.
"""
import ast
import os
import re
import sys
from pathlib import Path

import nbformat

STUB = 'raise NotImplementedError  # your code here'
STUDENT_PROMPT = '*Your answer here.*'
CHECK_MARK = '# NBVAL_CHECK_OUTPUT'
CHECKER_CALL = re.compile(r'\bd2lfcn\.check_\w+\s*\(')


class FormatError(ValueError):
    """A chapter's exercises do not follow the format of CONTRIBUTING.md."""


def stub_function(source):
    """The cell `source` with the body of its one function replaced by STUB.

    Lines before and after the function, its decorators, signature and
    docstring are kept as they are.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise FormatError(f'a solution cell does not parse: {e}') from None
    functions = [node for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(functions) != 1:
        raise FormatError(f'a solution cell must define exactly one function '
                          f'at top level, not {len(functions)}')
    fn = functions[0]
    lines = source.splitlines()
    body = fn.body
    first = body[0]
    has_doc = (isinstance(first, ast.Expr)
               and isinstance(first.value, ast.Constant)
               and isinstance(first.value.value, str))
    if first.lineno == fn.lineno:   # def f(x): return x   (one line)
        raise FormatError(f'the solution {fn.name}() must have its body on '
                          f'lines of its own')
    indent = ' ' * first.col_offset
    if has_doc:
        keep = lines[:first.end_lineno]            # up to the docstring's end
    else:
        keep = lines[:first.lineno - 1]            # the signature
        while keep and not keep[-1].strip():
            keep.pop()
    after = lines[fn.end_lineno:]                  # code after the function
    return '\n'.join(keep + [indent + STUB] + after)


def is_checker(cell):
    lines = cell.source.splitlines()
    return (cell.cell_type == 'code' and bool(lines)
            and lines[0].strip() == CHECK_MARK
            and bool(CHECKER_CALL.search(cell.source)))


def clear(cell):
    cell.outputs = []
    cell.execution_count = None


def student_notebook(nb):
    """The student edition of notebook `nb` (changed in place and returned)."""
    in_exercises = False
    for cell in nb.cells:
        tags = cell.metadata.get('tags', [])
        if cell.cell_type == 'markdown' and cell.source.strip() == '## Exercises':
            in_exercises = True
        if 'solution' in tags:
            if cell.cell_type == 'code':
                cell.source = stub_function(cell.source)
                clear(cell)
            elif cell.cell_type == 'markdown':
                cell.source = STUDENT_PROMPT
                cell.pop('attachments', None)
        elif in_exercises and is_checker(cell):
            cell.source = cell.source.split('\n', 1)[1] \
                if '\n' in cell.source else ''
            clear(cell)
    return nb


def main(argv):
    root = Path(__file__).resolve().parent.parent
    src = Path(argv[1]) if len(argv) > 1 else root / 'notebooks'
    out = Path(argv[2]) if len(argv) > 2 else root / 'student'
    chapters = sorted(src.glob('[0-9][0-9]*_*.ipynb'))
    if not chapters:
        sys.exit(f'make student: no chapter notebooks (NN_*.ipynb or NNb_*.ipynb) in {src}')
    if out.resolve() == src.resolve():
        sys.exit('make student: the student edition must not overwrite the '
                 'teacher edition')
    existing = [str(out / p.name) for p in chapters if (out / p.name).exists()]
    if existing and os.environ.get('OVERWRITE') != '1':
        sys.exit(f'make student: {existing[0]} already exists'
                 + (f' (and {len(existing) - 1} more)' if len(existing) > 1
                    else '')
                 + '; it may hold your edits. Move it away, or replace it '
                   'with: make student OVERWRITE=1')
    out.mkdir(parents=True, exist_ok=True)
    for path in chapters:
        nb = nbformat.read(str(path), as_version=4)
        try:
            student_notebook(nb)
        except FormatError as e:
            sys.exit(f'make student: {path.name}: {e}')
        nbformat.validate(nb)
        nbformat.write(nb, str(out / path.name))
    print(f'Wrote the student edition of {len(chapters)} chapters to {out}')


if __name__ == '__main__':
    main(sys.argv)
