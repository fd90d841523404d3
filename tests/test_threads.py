"""MXNet computes with every core: importing d2lfcn sets OMP_NUM_THREADS
before MXNet loads, unless the user set it."""
import os
import subprocess
import sys

from d2lfcn.threads import available_cores

PROBE = ('import os, warnings\n'
         'warnings.simplefilter("always")\n'
         '{first}\n'
         'import d2lfcn\n'
         'print(os.environ.get("OMP_NUM_THREADS"), d2lfcn.THREADS)\n')


def run(first='', **env):
    environ = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    environ.update(env)
    proc = subprocess.run([sys.executable, '-c', PROBE.format(first=first)],
                          capture_output=True, text=True, env=environ,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(), proc.stderr


def test_unset_means_every_core():
    out, err = run()
    assert out == [str(available_cores())] * 2
    assert 'half of' not in err


def test_the_users_value_wins():
    out, _ = run(OMP_NUM_THREADS='1')
    assert out == ['1', '1']


def test_mxnet_imported_first_is_named_with_the_fix():
    out, err = run(first='import mxnet')
    assert out == ['None', 'None']
    assert 'mxnet was imported before d2lfcn' in err
    assert 'Import d2lfcn before mxnet' in err
