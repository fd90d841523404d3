"""The package installs as a package: a wheel built from the checkout holds
every module, and d2lfcn and all its submodules import from where the wheel
was installed (not from the checkout)."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # make test-fast leaves these out

ROOT = Path(__file__).resolve().parents[1]


def test_a_wheel_holds_and_imports_every_module(tmp_path):
    source = tmp_path / 'source'      # built from a copy: no build/ here
    shutil.copytree(ROOT / 'd2lfcn', source / 'd2lfcn',
                    ignore=shutil.ignore_patterns('__pycache__'))
    for name in ('pyproject.toml', 'README.md'):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', str(source), '--no-deps',
         '--no-build-isolation', '-q', '-w', str(tmp_path / 'wheel')],
        capture_output=True, text=True, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel, = (tmp_path / 'wheel').glob('d2lfcn-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / 'd2lfcn').rglob('*.py')}
    assert modules <= names, sorted(modules - names)
    target = tmp_path / 'site'
    installed = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '-q',
         '--target', str(target), str(wheel)],
        capture_output=True, text=True, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]
    script = (
        'import importlib, pkgutil, d2lfcn\n'
        'names = [m.name for m in pkgutil.walk_packages(d2lfcn.__path__, '
        "'d2lfcn.')]\n"
        'for name in names:\n'
        '    importlib.import_module(name)\n'
        'print(d2lfcn.__file__, len(names))\n')
    env = {'PATH': '', 'PYTHONPATH': str(target), 'HOME': str(tmp_path),
           'D2LFCN_DATA': str(tmp_path / 'data'), 'MPLBACKEND': 'Agg'}
    ran = subprocess.run([sys.executable, '-c', script], capture_output=True,
                         text=True, cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    where, count = ran.stdout.split()
    assert where.startswith(str(target)), where
    assert int(count) == len(modules) - 1      # all but d2lfcn/__init__.py
