"""The install recipes agree with each other: one pinned set everywhere."""
import re
import subprocess
import sys
import tomllib

import pytest

from helpers import ROOT


def pins(lines):
    """{normalised name: version} of the `name==version` lines."""
    found = {}
    for line in lines:
        m = re.match(r'^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s;#]+)', line)
        if m:
            found[re.sub(r'[-_.]+', '-', m.group(1)).lower()] = m.group(2)
    return found


LOCK = pins((ROOT / 'constraints.txt').read_text().splitlines())


def test_lock_pins_the_core_set():
    assert LOCK['mxnet'] == '1.9.1'
    assert LOCK['numpy'] == '1.23.5'      # numpy >= 1.24 breaks import mxnet
    for name in ('gluoncv', 'matplotlib', 'opencv-python', 'jupyterlab',
                 'nbval', 'pytest', 'pandas', 'scipy', 'jupyter-book'):
        assert name in LOCK, name


def test_lock_is_what_is_installed():
    """The running environment was installed from the lock file."""
    from importlib.metadata import PackageNotFoundError, version
    for name in ('numpy', 'gluoncv', 'matplotlib', 'nbval', 'jupyterlab'):
        assert version(name) == LOCK[name], name
    try:
        assert version('mxnet') == LOCK['mxnet']
    except PackageNotFoundError:               # the GPU build instead
        assert version('mxnet-cu112') == LOCK['mxnet']


def test_environment_yml_agrees_with_the_lock():
    text = (ROOT / 'environment.yml').read_text()
    yml = pins(text.splitlines())
    assert yml.pop('mxnet-cu112') == LOCK['mxnet']
    assert 'mxnet' not in yml
    assert yml, 'environment.yml pins nothing'
    for name, ver in yml.items():
        assert name in LOCK, f'environment.yml pins {name}, the lock does not'
        assert ver == LOCK[name], \
            f'{name}: environment.yml has {ver}, constraints.txt {LOCK[name]}'
    # every direct requirement is pinned for conda learners too
    direct = [re.split(r'[=<>!~\s]', line)[0].lower().replace('_', '-')
              for line in (ROOT / 'requirements.txt').read_text().splitlines()
              if line.strip() and not line.startswith('#')]
    assert sorted(set(direct) - set(yml)) == []
    assert re.search(r'^\s*- python=3\.(10|11)\s*$', text, re.M)
    assert re.search(r'^\s*- cudatoolkit=11\.2\s*$', text, re.M)
    assert re.search(r'^\s*- cudnn', text, re.M)


def test_requirements_and_extras_are_within_the_lock():
    meta = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    assert meta['optional-dependencies']['cpu'] == [f"mxnet=={LOCK['mxnet']}"]
    assert meta['optional-dependencies']['cu112'] == [
        f"mxnet-cu112=={LOCK['mxnet']}"]
    for req in meta['dependencies']:
        name = re.split(r'[=<>!~\s]', req)[0].lower().replace('_', '-')
        assert name in LOCK, f'pyproject depends on {name}, not in the lock'
    for name, ver in pins((ROOT / 'requirements.txt').read_text()
                          .splitlines()).items():
        assert LOCK[name] == ver


def test_python_versions_agree_with_the_readme():
    """README: Python 3.10 or 3.11; pyproject.toml and the Makefile say so."""
    readme = (ROOT / 'README.md').read_text()
    assert re.search(r'\*\*Python 3\.10 or 3\.11\*\*', readme)
    meta = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    assert meta['requires-python'] == '>=3.10,<3.12'
    makefile = (ROOT / 'Makefile').read_text()
    assert '(3, 10) <= v <= (3, 11)' in makefile
    assert sys.version_info[:2] in ((3, 10), (3, 11))


@pytest.mark.parametrize('fake_version', ['3.12', '3.9'])
def test_make_refuses_an_unsupported_python(tmp_path, fake_version):
    """make stops with a message naming the versions that work."""
    fake = tmp_path / 'fakepython'
    major, minor = fake_version.split('.')
    # a wrapper that makes the real interpreter report another version
    fake.write_text(
        '#!/bin/sh\n'
        f'exec {sys.executable} -c "import sys; '
        f'sys.version_info = ({major}, {minor}, 0); '
        'exec(sys.argv[1])" "$2"\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ['make', '-s', 'setup', f'PYTHON={fake}', f'VENV={tmp_path}/venv'],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert 'needs Python 3.10 or 3.11' in result.stderr
    assert 'PYTHON=python3.11' in result.stderr
    assert not (tmp_path / 'venv').exists()


def test_make_refuses_an_unknown_gpu_build():
    result = subprocess.run(['make', '-s', '-n', 'setup', 'GPU=cu118'],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and 'GPU=cu112' in result.stderr


def test_make_gpu_switch_installs_the_cuda_build():
    result = subprocess.run(['make', '-n', 'setup', 'GPU=cu112',
                             'VENV=/nonexistent/venv'],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert '".[cu112]"' in result.stdout
    assert 'pip uninstall -y -q mxnet ' in result.stdout
