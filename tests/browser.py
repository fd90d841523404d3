"""Headless Chromium for the website and JupyterLab tests (not a test file).

The browser tests need Debian's `chromium` and `chromium-driver` (CI installs
them in .ci/run). Without them a test skips and says how to install them;
with D2LFCN_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead.
"""
import contextlib
import os
import shutil
import tempfile

import pytest

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
                  '--disable-background-networking',
                  '--disable-component-update', '--disable-sync',
                  '--no-first-run', '--disable-dev-shm-usage',
                  '--window-size=1280,900']


def _missing(reason):
    if os.environ.get('D2LFCN_REQUIRE_BROWSER') == '1':
        pytest.fail(f'{reason} (D2LFCN_REQUIRE_BROWSER=1 makes this an error)')
    pytest.skip(f'{reason}: install them to run the browser tests '
                f'(Debian/Ubuntu: apt-get install chromium chromium-driver)')


def find_browser():
    """(chromium, chromedriver) paths, or skip/fail the test."""
    chromium = next(filter(None, map(shutil.which, (
        'chromium', 'chromium-browser', 'google-chrome'))), None)
    driver = shutil.which('chromedriver')
    if not chromium or not driver:
        _missing('Chromium and chromedriver are not on PATH')
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing('the Python package selenium is not installed (make setup)')
    return chromium, driver


@contextlib.contextmanager
def chromium():
    """A fresh headless Chromium driven by selenium; quits at the end."""
    binary, driver_path = find_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix='d2lfcn-chromium-')
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS + [f'--user-data-dir={profile}']:
        options.add_argument(flag)
    # both paths are given, so selenium never looks for a driver online
    driver = webdriver.Chrome(service=Service(executable_path=driver_path),
                              options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

