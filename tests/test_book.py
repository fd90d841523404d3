"""The course website: `make book` builds it offline, and it works in a browser.

The site is built once per test session into a temporary folder with the
README's command. The browser tests serve it on the loopback interface and
open every page in headless Chromium (see browser.py: they skip without
Chromium unless D2LFCN_REQUIRE_BROWSER=1).
"""
import functools
import http.server
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import nbformat
import pytest

from browser import chromium
from helpers import NOTEBOOKS, ROOT, read_notebook

sys.path.insert(0, str(ROOT / 'tools'))
import build_book  # noqa: E402

pytestmark = pytest.mark.slow   # make test-fast leaves these out


def page_of(notebook):
    return f'notebooks/{notebook.stem}.html'


def figures_in(notebook, site):
    """Figures stored in the notebook as the site was built from it."""
    staged = site.parent / 'src' / 'notebooks' / notebook.name
    return sum('image/png' in out.get('data', {})
               for cell in read_notebook(staged).cells
               if cell.cell_type == 'code' for out in cell.outputs)


@pytest.fixture(scope='session')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('book')
    start = time.time()
    result = subprocess.run(['make', '-s', 'book', f'BOOK_DIR={out}'],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, \
        f'make book failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}'
    assert time.time() - start < 120, 'make book should take under a minute'
    return out / 'html'


@pytest.fixture(scope='session')
def server(site):
    """The site over HTTP on 127.0.0.1; yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope='module')
def browser():
    with chromium() as driver:
        yield driver


# --- the build ----------------------------------------------------------------

def test_every_chapter_has_a_page(site):
    assert (site / 'index.html').is_file()
    assert (site / 'search.html').is_file() and \
        (site / 'searchindex.js').is_file()
    for notebook in NOTEBOOKS:
        assert (site / page_of(notebook)).is_file(), notebook.name


def test_landing_page_has_the_course_path_and_setup(site):
    landing = (site / 'intro.html').read_text()
    for notebook in NOTEBOOKS:      # every chapter is linked, in order
        assert f'href="{page_of(notebook)}"' in landing, notebook.name
    positions = [landing.index(f'href="{page_of(nb)}"') for nb in NOTEBOOKS]
    assert positions == sorted(positions)
    text = re.sub(r'<[^>]+>', '', landing)     # code is highlighted
    for command in ('make lab', 'make test', 'make book', 'make student'):
        assert command in text


def test_pages_hold_the_stored_figures(site):
    for notebook in NOTEBOOKS:
        html = (site / page_of(notebook)).read_text()
        images = re.findall(r'<img [^>]*src="\.\./_images/', html)
        assert len(images) == figures_in(notebook, site), notebook.name


def test_site_loads_nothing_from_the_network(site):
    """Scripts, styles, images and MathJax all come from the site itself."""
    mathjax = site / '_static' / 'mathjax'
    assert (mathjax / 'MathJax.js').is_file()
    assert (mathjax / 'config' / f'{build_book.MATHJAX_CONFIG}.js').is_file()
    for page in [site / 'intro.html'] + [site / page_of(nb)
                                         for nb in NOTEBOOKS]:
        html = page.read_text()
        loaded = re.findall(r'<(?:script|img)\b[^>]*\bsrc="([^"]+)"'
                            r'|<link\b[^>]*\bhref="([^"]+)"', html)
        remote = [a or b for a, b in loaded
                  if re.match(r'(https?:)?//', a or b)]
        assert not remote, f'{page.name} loads {remote}'
        assert '_static/mathjax/MathJax.js?config=' in html


def test_a_notebook_with_an_error_output_stops_the_build(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        '1 / 0', execution_count=1, outputs=[nbformat.v4.new_output(
            'error', ename='ZeroDivisionError', evalue='division by zero',
            traceback=[])])])
    path = tmp_path / '01_broken.ipynb'
    nbformat.write(nb, str(path))
    with pytest.raises(SystemExit, match='01_broken.ipynb, cell 0, stores '
                                         'an error output'):
        build_book.check_notebook(path)
    path.write_text('{"cells": [')
    with pytest.raises(SystemExit, match='not a valid notebook'):
        build_book.check_notebook(path)


def test_build_runs_no_code_and_fails_on_warnings(tmp_path, monkeypatch):
    """A tiny book whose page refers to a label that does not exist (a
    Sphinx warning) fails to build; its code cell, which has no stored
    output, is never run, although the build goes on to the end."""
    marker = tmp_path / 'executed'
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('# Tiny\n\nSee {ref}`no-such-label`.'),
        nbformat.v4.new_code_cell(f'open({str(marker)!r}, "w").close()')])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3',
                                 'language': 'python'}
    chapter = tmp_path / 'notebooks' / '01_tiny.ipynb'
    chapter.parent.mkdir()
    nbformat.write(nb, str(chapter))
    monkeypatch.setattr(build_book, 'chapters', lambda: [chapter])
    with pytest.raises(SystemExit, match='the build failed'):
        build_book.main(['build_book.py', str(tmp_path / 'site')])
    assert (tmp_path / 'site' / 'src' / 'notebooks' / '01_tiny.ipynb').is_file()
    assert not marker.exists()


# --- in the browser -----------------------------------------------------------

WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.Hub && MathJax.isReady) {
    MathJax.Hub.Queue(() => done('typeset'));
  } else if (Date.now() - start > 30000) {
    done('MathJax did not load');
  } else {
    setTimeout(poll, 100);
  }
})();
"""

PAGE_REPORT = """
const imgs = Array.from(document.querySelectorAll('article img'));
const maths = Array.from(document.querySelectorAll('article .math.notranslate'));
return {
  title: document.title,
  images: imgs.length,
  broken: imgs.filter(i => !i.complete || i.naturalWidth === 0)
              .map(i => i.src),
  math: maths.length,
  unrendered: maths.filter(m => !m.querySelector(
      '.MathJax, .MathJax_Display, .MathJax_SVG, .MathJax_CHTML'))
              .map(m => m.textContent.slice(0, 80)),
  mathErrors: Array.from(document.querySelectorAll(
      '.MathJax_Error, .merror, .noError')).map(e => e.textContent),
  rawDollars: document.body.innerText.includes('$$'),
  rawDelimiters: maths.filter(m => /\\\\[(\\[]/.test(m.innerText))
              .map(m => m.innerText.slice(0, 80)),
  searchBox: document.querySelectorAll(
      'form[action*="search"] input[name="q"]').length,
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  remote: performance.getEntriesByType('resource').map(r => r.name)
              .filter(n => !n.startsWith(location.origin)),
};
"""


def open_page(browser, url):
    browser.get(url)
    browser.set_script_timeout(40)
    state = browser.execute_async_script(WAIT_FOR_MATHJAX)
    assert state == 'typeset', f'{url}: {state}'
    return browser.execute_script(PAGE_REPORT)


@pytest.fixture(scope='module')
def pages(browser, server, tmp_path_factory):
    """What the browser shows of the landing page and of every chapter."""
    shots = tmp_path_factory.mktemp('screenshots')
    reports = {}
    for name in ['intro.html'] + [page_of(nb) for nb in NOTEBOOKS]:
        reports[name] = open_page(browser, server + name)
        browser.save_screenshot(str(shots / (name.replace('/', '_')
                                             + '.png')))
    return reports


def test_chapters_show_their_figures(pages, site):
    for notebook in NOTEBOOKS:
        report = pages[page_of(notebook)]
        assert report['title'], notebook.name
        assert report['images'] == figures_in(notebook, site), notebook.name
        assert report['images'] >= 1, notebook.name
        assert not report['broken'], f'{notebook.name}: {report["broken"]}'


def test_math_is_rendered_offline(pages):
    assert sum(report['math'] for report in pages.values()) > 0
    for name, report in pages.items():
        assert not report['unrendered'], f'{name}: {report["unrendered"]}'
        assert not report['mathErrors'], f'{name}: {report["mathErrors"]}'
        assert not report['rawDollars'], f'{name}: raw $$ in the text'
        assert not report['rawDelimiters'], f'{name}: ' \
            f'{report["rawDelimiters"]}'
        assert not report['remote'], f'{name} fetched {report["remote"]}'
    for notebook in NOTEBOOKS:
        has_math = any(cell.cell_type == 'markdown' and '$' in cell.source
                       for cell in read_notebook(notebook).cells)
        if has_math:
            assert pages[page_of(notebook)]['math'] > 0, notebook.name


def test_every_page_has_a_search_box(pages):
    for name, report in pages.items():
        assert report['searchBox'] >= 1, name


def test_search_finds_the_chapters(browser, server):
    browser.get(server + 'search.html?q=transposed+convolution')
    deadline = time.time() + 30
    hits = []
    while time.time() < deadline and not hits:
        hits = browser.execute_script(
            "return Array.from(document.querySelectorAll("
            "'#search-results li a')).map(a => a.href)")
        time.sleep(0.2)
    assert any(page_of(NOTEBOOKS[0]) in hit for hit in hits), hits


def _fetch(url, cache):
    if url not in cache:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                cache[url] = response.read().decode('utf-8', 'replace')
        except urllib.error.URLError as e:
            cache[url] = e
    return cache[url]


def test_internal_links_resolve(pages, server):
    """Every link to the site itself leads to a page, and to an anchor on it."""
    cache, checked, broken = {}, set(), []
    for name, report in pages.items():
        for link in report['links']:
            if not link.startswith(server) or link in checked:
                continue
            checked.add(link)
            url, _, anchor = link.partition('#')
            body = _fetch(url, cache)
            if isinstance(body, Exception):
                broken.append(f'{name} -> {link}: {body}')
            elif anchor and not re.search(
                    r'\bid="%s"' % re.escape(urllib.parse.unquote(anchor)),
                    body):
                broken.append(f'{name} -> {link}: no anchor #{anchor}')
    assert not broken, '\n'.join(broken)
    # the chapters link to each other (sidebar, previous / next)
    for i, notebook in enumerate(NOTEBOOKS):
        links = {link.partition('#')[0]
                 for link in pages[page_of(notebook)]['links']}
        others = {server + page_of(nb) for nb in NOTEBOOKS if nb != notebook}
        assert others <= links, notebook.name
    assert len(checked) > len(NOTEBOOKS)
