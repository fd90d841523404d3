"""Build the course website (make book) from the notebooks' stored outputs.

    python tools/build_book.py [OUT_DIR]          (default: _build/book)

Stages book/ (the Jupyter Book configuration and the landing page), the
chapter notebooks and a local copy of MathJax into OUT_DIR/src, then builds
the site with Jupyter Book 1.x into OUT_DIR/html. Nothing is executed and
nothing is fetched from the network. The build fails on any Sphinx warning
(-W -n) and on a notebook that is invalid or holds an error output.
"""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MATHJAX_CONFIG = 'TeX-AMS-MML_HTMLorMML-full'


def mathjax_dir():
    """MathJax 2.7 as shipped by the jupyter-server-mathjax package."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        sys.exit('make book needs the package jupyter-server-mathjax (it is '
                 'in requirements.txt): run make setup')
    static = Path(jupyter_server_mathjax.__file__).parent / 'static'
    if not (static / 'config' / f'{MATHJAX_CONFIG}.js').is_file():
        sys.exit(f'{static} holds no MathJax 2.7 with {MATHJAX_CONFIG}')
    return static


def chapters():
    found = sorted((ROOT / 'notebooks').glob('[0-9][0-9]*_*.ipynb'))
    if not found:
        sys.exit('no chapter notebooks in notebooks/')
    return found


def check_notebook(path):
    """Stop on a notebook that is not valid or that stores an error."""
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # unreadable JSON, schema violation
        sys.exit(f'make book: {path.name} is not a valid notebook: {e}')
    for i, cell in enumerate(nb.cells):
        for out in cell.get('outputs', []):
            if out.output_type == 'error':
                sys.exit(f'make book: {path.name}, cell {i}, stores an error '
                         f'output ({out.ename}: {out.evalue}); run the '
                         f'notebook again top to bottom')


def stage(src):
    shutil.copytree(ROOT / 'book', src)
    (src / 'notebooks').mkdir()
    for path in chapters():
        check_notebook(path)
        shutil.copy2(path, src / 'notebooks' / path.name)
    # not _static/: Jupyter Book would add every .js file there to each page
    shutil.copytree(mathjax_dir(), src / '_mathjax' / 'mathjax')


def main(argv):
    out = Path(argv[1] if len(argv) > 1 else ROOT / '_build' / 'book')
    out = out.resolve()
    if out == ROOT or ROOT.is_relative_to(out):
        sys.exit(f'refusing to build into {out}')
    start = time.time()
    if out.exists():            # always a clean build: every warning shows
        shutil.rmtree(out)
    src = out / 'src'
    stage(src)
    jupyter_book = Path(sys.executable).with_name('jupyter-book')
    # Warnings go to stderr; Jupyter Book's banner on stdout names a folder
    # that is renamed below, so it is shown only when the build fails.
    result = subprocess.run(
        [str(jupyter_book), 'build', str(src), '--path-output', str(out),
         '--builder', 'html', '-W', '-n', '--keep-going', '--quiet'],
        stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        print(result.stdout[-5000:])
        sys.exit(f'make book: the build failed (exit {result.returncode}); '
                 f'see the warnings above')
    (out / '_build' / 'html').rename(out / 'html')
    print(f'The course website is in {out / "html"} '
          f'(open index.html; {time.time() - start:.0f} s)')


if __name__ == '__main__':
    main(sys.argv)
