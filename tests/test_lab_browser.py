"""A learner's session: `make lab`, open chapter 1 in the browser, run it all.

JupyterLab is started once, the way the README says (make lab, here with a loopback
port, no browser and a token) and driven through its own interface in
headless Chromium (see browser.py: the test skips without Chromium unless
D2LFCN_REQUIRE_BROWSER=1). The kernel runs the quick profile. A screenshot is
saved under the test's tmp_path. Autosave is switched off in a private
settings folder, so the notebook file is left exactly as it was.
"""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

from browser import chromium, find_browser
from helpers import (NOTEBOOKS, ROOT, code_cells, free_port,
                      stop_process_group)

pytestmark = pytest.mark.slow   # make test-fast leaves these out

CHAPTER = NOTEBOOKS[0]          # 01_transposed_convolution.ipynb

SETTINGS = {   # JupyterLab user settings of this test only
    '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings':
        {'autosave': False},
    '@jupyterlab/apputils-extension/notification.jupyterlab-settings':
        {'fetchNews': 'false', 'checkForUpdates': False},
}

CELL_STATES = """
const cells = Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell'));
return cells.map(cell => {
  const prompt = cell.querySelector('.jp-InputArea-prompt');
  const outputs = Array.from(cell.querySelectorAll('.jp-OutputArea-output'));
  return {
    prompt: prompt ? prompt.textContent.trim() : '',
    stderr: outputs.filter(o => o.getAttribute('data-mime-type') ===
                           'application/vnd.jupyter.stderr')
                   .map(o => o.textContent),
    text: outputs.map(o => o.textContent).join('\\n'),
    images: cell.querySelectorAll('.jp-OutputArea-output img').length,
  };
});
"""


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


def menu(browser, name, item):
    """Click menu `name` of the menu bar, then its entry `item`."""
    from selenium.webdriver.common.by import By
    def labelled(selector, text):
        return [e for e in browser.find_elements(By.CSS_SELECTOR, selector)
                if e.text == text]
    wait_for(lambda: labelled('.lm-MenuBar-itemLabel', name), 30,
             f'the {name} menu')[0].click()
    wait_for(lambda: labelled('.lm-Menu-itemLabel', item), 30,
             f'{name} > {item}')[0].click()


def is_error(text):
    return 'Traceback' in text or re.search(
        r'^\s*-*\s*\w*(Error|Exception)\b', text, re.M)


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """JupyterLab started with `make lab`; yields (base url, token)."""
    tmp_path = tmp_path_factory.mktemp('lab')
    port, token = free_port(), 'd2lfcn-browser-test'
    settings = tmp_path / 'settings'
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = dict(os.environ, D2LFCN_QUICK='1',
               JUPYTER_RUNTIME_DIR=str(tmp_path / 'runtime'),
               JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / 'workspaces'))
    log = open(tmp_path / 'jupyterlab.log', 'wb')
    server = subprocess.Popen(
        ['make', '-s', 'lab', f'PORT={port}',
         f'LAB_ARGS=--no-browser --ip=127.0.0.1 '
         f'--IdentityProvider.token={token}'],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f'http://127.0.0.1:{port}'

    def answers():
        if server.poll() is not None:
            raise AssertionError('make lab stopped:\n' + (
                tmp_path / 'jupyterlab.log').read_text()[-3000:])
        try:
            with urllib.request.urlopen(f'{base}/api/status?token={token}',
                                        timeout=5):
                return True
        except OSError:
            return False
    try:
        wait_for(answers, 120, 'JupyterLab to answer')
        yield base, token
    finally:
        try:                         # shut the kernels down cleanly
            with urllib.request.urlopen(f'{base}/api/kernels?token={token}',
                                        timeout=5) as response:
                for kernel in json.load(response):
                    urllib.request.urlopen(urllib.request.Request(
                        f'{base}/api/kernels/{kernel["id"]}?token={token}',
                        method='DELETE'), timeout=10)
        except OSError:
            pass
        stop_process_group(server, timeout=10)
        log.close()


def test_make_lab_serves_the_notebooks(lab):
    base, token = lab
    with urllib.request.urlopen(f'{base}/api/contents?token={token}',
                                timeout=10) as response:
        names = {item['name'] for item in json.load(response)['content']}
    assert {p.name for p in NOTEBOOKS} <= names and len(NOTEBOOKS) >= 2
    with urllib.request.urlopen(f'{base}/lab?token={token}',
                                timeout=10) as response:
        assert b'JupyterLab' in response.read()


def test_chapter_1_runs_in_jupyterlab_without_an_error(lab, tmp_path):
    find_browser()                   # skips without Chromium
    base, token = lab
    before = CHAPTER.read_bytes()
    checkpoints = CHAPTER.parent / '.ipynb_checkpoints'   # made on opening
    had_checkpoints = checkpoints.exists()
    n_code = len(code_cells(CHAPTER))
    with chromium() as browser:
        try:
            browser.get(f'{base}/lab/tree/{CHAPTER.name}?token={token}&reset')
            wait_for(lambda: len(browser.execute_script(CELL_STATES)) == n_code,
                     90, f'the {n_code} code cells of {CHAPTER.name} to show')
            # clear the stored outputs, then run every cell, through the
            # menus with real clicks as a learner would
            menu(browser, 'Edit', 'Clear Outputs of All Cells')
            wait_for(lambda: all(s['prompt'] == '[ ]:' for s in
                                 browser.execute_script(CELL_STATES)),
                     30, 'the outputs to be cleared')
            menu(browser, 'Run', 'Run All Cells')

            def finished():
                states = browser.execute_script(CELL_STATES)
                done = all(re.fullmatch(r'\[\d+\]:', s['prompt'])
                           for s in states)
                failed = any(is_error(t) for s in states for t in s['stderr'])
                return states if done or failed else None
            states = wait_for(finished, 240, 'all cells to run')
            time.sleep(1)            # let the last outputs render
            states = browser.execute_script(CELL_STATES)
            from selenium.webdriver.common.by import By
            for name, selector in [('figure', '.jp-OutputArea-output img'),
                                   ('exercise', '.jp-Notebook .jp-CodeCell')]:
                found = browser.find_elements(By.CSS_SELECTOR, selector)
                if found:
                    browser.execute_script(
                        'arguments[0].scrollIntoView({block: "center"})',
                        found[0] if name == 'figure' else found[-1])
                    time.sleep(0.5)
                    browser.save_screenshot(
                        str(tmp_path / f'jupyterlab-{name}.png'))
        finally:
            browser.save_screenshot(str(tmp_path / 'jupyterlab.png'))
            if not had_checkpoints:
                shutil.rmtree(checkpoints, ignore_errors=True)
    errors = [t for s in states for t in s['stderr'] if is_error(t)]
    assert not errors, errors[0][-2000:]
    counts = [int(s['prompt'][1:-2]) for s in states]
    assert counts == list(range(1, n_code + 1)), counts
    assert sum(s['images'] for s in states) >= 1, 'no figure was shown'
    assert any('solved, every case is right' in s['text'] for s in states)
    assert CHAPTER.read_bytes() == before, 'the notebook file was changed'
