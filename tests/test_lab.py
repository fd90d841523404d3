"""The README's lab command serves JupyterLab with the chapters listed."""
import json
import os
import subprocess
import time
import urllib.request

from conftest import NOTEBOOKS, ROOT, free_port, stop_process_group


def test_make_lab_serves_the_notebooks(tmp_path):
    port, token = free_port(), 'd2lfcn-test'
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path))
    lab = subprocess.Popen(
        ['make', '-s', 'lab', f'PORT={port}',
         f'LAB_ARGS=--no-browser --ip=127.0.0.1 '
         f'--IdentityProvider.token={token}'],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        url = f'http://127.0.0.1:{port}/api/contents?token={token}'
        deadline, listing = time.time() + 120, None
        while time.time() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.load(response)
                    break
            except OSError:
                time.sleep(1)
        assert listing is not None, lab.stdout.read1().decode()[-3000:] \
            if lab.poll() is not None else 'JupyterLab did not answer'
        names = {item['name'] for item in listing['content']}
        assert {p.name for p in NOTEBOOKS} <= names
        assert len(NOTEBOOKS) >= 2
        with urllib.request.urlopen(
                f'http://127.0.0.1:{port}/lab?token={token}',
                timeout=10) as response:
            assert b'JupyterLab' in response.read()
    finally:
        stop_process_group(lab)
