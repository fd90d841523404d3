"""Every script in bench/ runs, with its smallest arguments, and prints its
figures. The figures themselves are measured by running the scripts with
their defaults (bench/README.md); this only keeps the scripts working."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow   # make test-fast leaves these out

BENCH = ROOT / 'bench'
NEEDS_D2L = pytest.mark.skipif(
    importlib.util.find_spec('d2l') is None,
    reason="d2l 1.0.3 is not installed (make installs it: pip install "
           "--no-deps d2l==1.0.3); the reference side needs it")

# script, smallest arguments, what its output must show
RUNS = {
    'bench_data.py': (['--num-train', '12', '--epochs', '1', '--batch-size',
                       '4', '--crop', '64', '96'],
                      [r'd2l 1\.0\.3 reference\s+\d+', r"keep='encoded'",
                       r'throughput \d+\.\d\d x']),
    'bench_train.py': (['--num-train', '20', '--num-val', '4', '--epochs', '1',
                        '--batch-size', '4', '--crop', '64x96', '--repeat',
                        '1', '--threads', '1'],
                       [r'OMP_NUM_THREADS=1 on every side',
                        r'run 1 reference\s*: 20 training images',
                        r'ours-learned: .* median \d+\.\d\dx',
                        r'ours: .* median \d+\.\d\dx',
                        r'one full-image evaluation pass: 4 whole']),
    'bench_learning.py': (['--variants', '32s', '--epochs', '1', '--crop',
                           '64x96', '--batch-size', '4', '--num-train', '8',
                           '--num-val', '2'],
                          [r'FCN-32s val mIoU per epoch: \d\.\d{3}$',
                           r'FCN-32s\s+(\d+ s|not reached)',
                           r'colour lookup\s+\d\.\d{3}']),
    'bench_sample_designs.py': (['--designs', 'shapes', '--fcn-epochs', '1',
                                 '--patch-epochs', '1', '--windows', '12',
                                 '--variants', '32s', '--num-train', '8',
                                 '--num-val', '2', '--crop', '64x96',
                                 '--batch-size', '4'],
                                [r'shapes\s+colour lookup \d+\^3\s+best '
                                 r'\d\.\d{3}',
                                 r'shapes\s+patch net  12 px\s+best \d\.\d{3}',
                                 r'shapes\s+FCN-32s\s+best \d\.\d{3}']),
    'bench_step.py': (['--batch-size', '2', '--crop', '64x64', '--repeat',
                       '1'],
                      [r'fixed, 21 groups : upsampler forward\+backward',
                       r'GFLOP/s',
                       r'whole step \(fixed upsampler\) / best single '
                       r'convolution: \d\.\d\d']),
    'bench_loss.py': (['--shape', '2x21x32x48', '--repeat', '1'],
                      [r'transpose, then last axis\s+hybridized=True :? ?'
                       r'forward \d\.\d{3}', r'largest relative difference']),
    'profile_step.py': (['--steps', '1', '--batch-size', '2', '--crop',
                         '64x96', '--top', '3'],
                        [r'operators take \d+ ms per step',
                         r'^  \S+\s+\d+\.\d ms']),
}


def test_every_bench_script_is_run_here():
    scripts = {p.name for p in BENCH.glob('*.py')}
    assert scripts == set(RUNS)


@pytest.mark.parametrize('script', [
    pytest.param(name, marks=NEEDS_D2L) if name in ('bench_data.py',
                                                     'bench_train.py')
    else name for name in RUNS])
def test_bench_runs_and_prints_its_figures(script, tmp_path):
    args, patterns = RUNS[script]
    env = dict(os.environ, D2LFCN_DATA=str(tmp_path))
    proc = subprocess.run([sys.executable, str(BENCH / script), *args],
                          capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    for pattern in patterns:
        assert re.search(pattern, proc.stdout, re.M), \
            f'{script} did not print {pattern!r}:\n{proc.stdout[-3000:]}'


@pytest.mark.parametrize('script', ['setup_and_test_time.sh',
                                    'chapter_time.sh'])
def test_the_timers_are_valid_shell(script):
    # they clone the repository and run make test or whole chapters, so
    # here they are only parsed, not run
    subprocess.run(['bash', '-n', str(BENCH / script)], check=True)
