"""The package is layered as data flows: no import loop, nothing imports the
package __init__ from inside, and modules stay small."""
import ast

from helpers import ROOT

PACKAGE = ROOT / 'd2lfcn'
MODULES = {p.relative_to(ROOT).with_suffix('').as_posix().replace('/', '.'): p
           for p in PACKAGE.rglob('*.py')}
LONG_MODULES = {
    'd2lfcn.sample_data': 'one job, drawing the sample set: ten shapes, two '
                          'textures, cluttered backgrounds, the writer',
    'd2lfcn.exercises.ch06': 'three checkers and the small stitched network '
                             'that the shift-and-stitch checker runs',
    'd2lfcn.voc': 'the VOC format: palette, label decoding of every PNG mode, '
                  'split files',
    'd2lfcn.model': 'FCN with its three variants and two heads, their '
                    'initialisers, and nets made from other nets',
    'd2lfcn.__main__': 'the command line: three commands, their options, '
                       'defaults chosen by the data, and the checks of their '
                       'files before any work',
}


def package_imports(path):
    """Names of the d2lfcn modules that the file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith('d2lfcn')}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and \
                node.module and node.module.startswith('d2lfcn'):
            for alias in node.names:        # from d2lfcn import validate
                sub = f'{node.module}.{alias.name}'
                found.add(sub if sub in MODULES else node.module)
    return found


def resolved(name):
    return f'{name}.__init__' if f'{name}.__init__' in MODULES else name


GRAPH = {name: {resolved(m) for m in package_imports(path)} - {name}
         for name, path in MODULES.items()}


def test_graph_is_read():
    assert GRAPH['d2lfcn.training'] >= {'d2lfcn.metrics', 'd2lfcn.checkpoints'}
    assert 'd2lfcn.sample_data' in GRAPH['d2lfcn.find_data']


def test_no_module_imports_the_package_init():
    offenders = {name: 'd2lfcn.__init__' for name, deps in GRAPH.items()
                 if 'd2lfcn.__init__' in deps and name != 'd2lfcn.__main__'}
    assert not offenders, f'these modules import d2lfcn/__init__.py: ' \
                          f'{sorted(offenders)}'


def test_no_import_loop():
    state = {}

    def visit(name, path):
        state[name] = 'open'
        for dep in sorted(GRAPH.get(name, ())):
            if dep.endswith('__init__') and dep != 'd2lfcn.__init__':
                continue      # a subpackage's __init__ only re-exports
            assert state.get(dep) != 'open', \
                f'import loop: {" -> ".join(path + [name, dep])}'
            if dep not in state:
                visit(dep, path + [name])
        state[name] = 'done'

    for name in sorted(GRAPH):
        if name not in state and not name.endswith('__init__'):
            visit(name, [])


def test_data_reader_and_generator_do_not_know_each_other():
    assert 'd2lfcn.sample_data' not in GRAPH['d2lfcn.data']
    assert 'd2lfcn.sample_data' not in GRAPH['d2lfcn.voc']
    assert not GRAPH['d2lfcn.sample_data'] & {'d2lfcn.data',
                                               'd2lfcn.find_data'}
    assert 'd2lfcn.training' not in GRAPH['d2lfcn.prediction']


def test_modules_are_small():
    long = {name: len(path.read_text().splitlines())
            for name, path in MODULES.items()
            if len(path.read_text().splitlines()) > 300}
    unexplained = set(long) - set(LONG_MODULES)
    assert not unexplained, f'over 300 lines: { {n: long[n] for n in unexplained} }'
    assert all(n < 400 for n in long.values()), long
