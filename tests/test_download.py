"""download_voc on small local archives: file:// URLs and a local server."""
import hashlib
import http.server
import io
import tarfile
import threading
import time

import pytest

from helpers import free_port
from d2lfcn.voc import is_complete_voc
from d2lfcn.download import download_voc

ARCHIVE = 'VOCtrainval_11-May-2012.tar'


def add(tar, name, payload=b'x', **attrs):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    for key, value in attrs.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(payload) if info.isfile() else None)


def make_archive(path, extra=()):
    """A tiny VOC-like tar; extra: (name, attrs) members to add."""
    base = 'VOCdevkit/VOC2012/'
    with tarfile.open(path, 'w') as tar:
        for d in ('', 'JPEGImages', 'SegmentationClass', 'ImageSets',
                  'ImageSets/Segmentation'):
            add(tar, base + d, type=tarfile.DIRTYPE, size=0)
        add(tar, base + 'JPEGImages/a.jpg', b'jpeg' * 1000)
        add(tar, base + 'SegmentationClass/a.png', b'png' * 1000)
        add(tar, base + 'ImageSets/Segmentation/train.txt', b'a\n')
        add(tar, base + 'ImageSets/Segmentation/val.txt', b'a\n')
        for name, attrs in extra:
            add(tar, name, **attrs)
    return path


def sha1(path):
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def source(tmp_path):
    src = tmp_path / 'server'
    src.mkdir()
    return make_archive(src / ARCHIVE)


def test_download_verify_extract(source, tmp_path, capsys):
    data_dir = tmp_path / 'data'
    voc = download_voc(data_dir, url=source.as_uri(), sha1=sha1(source))
    assert voc == data_dir / 'VOCdevkit' / 'VOC2012' and is_complete_voc(voc)
    assert (voc / 'JPEGImages' / 'a.jpg').read_bytes() == b'jpeg' * 1000
    assert (data_dir / ARCHIVE).exists()
    assert not list(data_dir.glob('*.part')) + list(data_dir.glob('.extract*'))
    assert ARCHIVE in capsys.readouterr().err        # the progress bar
    # a second call finds the dataset and does nothing
    source.unlink()
    assert download_voc(data_dir, url=source.as_uri(), sha1='0' * 40) == voc


def test_an_incomplete_voc2012_keeps_the_users_files(source, tmp_path):
    """SBD's SegmentationClassAug is often added to VOC2012 by hand: the
    download completes the folder around it and replaces nothing."""
    voc = tmp_path / 'data' / 'VOCdevkit' / 'VOC2012'
    (voc / 'SegmentationClassAug').mkdir(parents=True)
    (voc / 'SegmentationClassAug' / 'x.png').write_bytes(b'mine')
    (voc / 'JPEGImages').mkdir()
    (voc / 'JPEGImages' / 'a.jpg').write_bytes(b'my own a.jpg')
    got = download_voc(tmp_path / 'data', url=source.as_uri(),
                       sha1=sha1(source), progress=False)
    assert got == voc and is_complete_voc(voc)
    assert (voc / 'SegmentationClassAug' / 'x.png').read_bytes() == b'mine'
    assert (voc / 'JPEGImages' / 'a.jpg').read_bytes() == b'my own a.jpg'
    assert (voc / 'SegmentationClass' / 'a.png').read_bytes() == b'png' * 1000


def test_a_voc2012_that_cannot_be_completed_is_left_alone(source, tmp_path):
    voc = tmp_path / 'data' / 'VOCdevkit' / 'VOC2012'
    voc.mkdir(parents=True)
    (voc / 'JPEGImages').write_text('a file where a folder belongs')
    with pytest.raises(ValueError, match='nothing of it was replaced'):
        download_voc(tmp_path / 'data', url=source.as_uri(),
                     sha1=sha1(source), progress=False)
    assert (voc / 'JPEGImages').read_text() == 'a file where a folder belongs'
    assert not list((tmp_path / 'data').glob('.extract*'))


def test_corrupt_download_is_refused(source, tmp_path):
    data_dir = tmp_path / 'data'
    with pytest.raises(ValueError, match='wrong SHA-1'):
        download_voc(data_dir, url=source.as_uri(), sha1='0' * 40,
                     progress=False)
    assert not (data_dir / 'VOCdevkit').exists()
    assert not list(data_dir.glob('*.part'))


def test_archive_placed_by_hand(source, tmp_path):
    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    (data_dir / ARCHIVE).write_bytes(source.read_bytes())
    voc = download_voc(data_dir, url='http://127.0.0.1:9/' + ARCHIVE,
                       sha1=sha1(source))
    assert is_complete_voc(voc)


def test_truncated_archive_placed_by_hand(source, tmp_path):
    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    raw = source.read_bytes()
    (data_dir / ARCHIVE).write_bytes(raw[:len(raw) // 2])
    with pytest.raises(ValueError, match='damaged or incomplete.*Delete it'):
        download_voc(data_dir, url=source.as_uri(), sha1=sha1(source))
    # without a checksum the damage shows when extracting, and nothing
    # half-extracted is left behind
    with pytest.raises(ValueError, match='cannot extract|no complete'):
        download_voc(data_dir, url=source.as_uri(), sha1=None)
    assert not is_complete_voc(data_dir / 'VOCdevkit' / 'VOC2012')
    assert not list(data_dir.glob('.extract*'))


@pytest.mark.parametrize('name, attrs, message', [
    ('../evil.txt', {}, 'outside the target'),
    ('VOCdevkit/VOC2012/../../../evil.txt', {}, 'outside the target'),
    ('VOCdevkit/link', {'type': tarfile.SYMTYPE, 'linkname': '/etc/passwd',
                        'size': 0}, 'link'),
    ('VOCdevkit/hard', {'type': tarfile.LNKTYPE,
                        'linkname': 'VOCdevkit/VOC2012/JPEGImages/a.jpg',
                        'size': 0}, 'link'),
])
def test_unsafe_members_are_refused(tmp_path, name, attrs, message):
    src = tmp_path / 'server'
    src.mkdir()
    archive = make_archive(src / ARCHIVE, extra=[(name, attrs)])
    data_dir = tmp_path / 'data'
    with pytest.raises(ValueError, match=message):
        download_voc(data_dir, url=archive.as_uri(), sha1=sha1(archive),
                     progress=False)
    assert not (tmp_path / 'evil.txt').exists()
    assert not (data_dir / 'VOCdevkit').exists()


def test_absolute_member_lands_inside(tmp_path):
    """tarfile's data filter strips the leading '/': the member is extracted
    under the temporary folder, never at its absolute path."""
    src = tmp_path / 'server'
    src.mkdir()
    outside = tmp_path / 'evil.txt'
    archive = make_archive(src / ARCHIVE, extra=[(str(outside), {})])
    data_dir = tmp_path / 'data'
    download_voc(data_dir, url=archive.as_uri(), sha1=sha1(archive),
                 progress=False)
    assert not outside.exists()
    assert is_complete_voc(data_dir / 'VOCdevkit' / 'VOC2012')


def test_offline_fails_fast_with_hint(tmp_path):
    url = f'http://127.0.0.1:{free_port()}/{ARCHIVE}'   # nobody listens
    start = time.monotonic()
    with pytest.raises(ConnectionError, match='place it at .*' + ARCHIVE):
        download_voc(tmp_path, url=url, timeout=2)
    assert time.monotonic() - start < 5


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one payload; honours Range; can cut the first reply short."""
    payload = b''
    cut_first = False
    requests = []

    def do_GET(self):
        start = 0
        ranged = self.headers.get('Range')
        type(self).requests.append(ranged)
        if ranged and self.honour_range:
            start = int(ranged.split('=')[1].split('-')[0])
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-'
                             f'{len(self.payload) - 1}/{len(self.payload)}')
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if type(self).cut_first:
            type(self).cut_first = False
            self.wfile.write(body[:len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(source):
    def start(honour_range=True, cut_first=False):
        handler = type('Handler', (RangeHandler,), {
            'payload': source.read_bytes(), 'cut_first': cut_first,
            'honour_range': honour_range, 'requests': []})
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f'http://127.0.0.1:{httpd.server_port}/{ARCHIVE}', handler
    servers = []
    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize('honour_range', [True, False])
def test_interrupted_download_resumes(server, source, tmp_path, honour_range):
    url, handler = server(honour_range=honour_range, cut_first=True)
    data_dir = tmp_path / 'data'
    with pytest.raises(ConnectionError, match='resume'):
        download_voc(data_dir, url=url, sha1=sha1(source), progress=False)
    part = data_dir / (ARCHIVE + '.part')
    assert 0 < part.stat().st_size < source.stat().st_size
    assert not (data_dir / 'VOCdevkit').exists()
    voc = download_voc(data_dir, url=url, sha1=sha1(source), progress=False)
    assert is_complete_voc(voc)
    assert (data_dir / ARCHIVE).read_bytes() == source.read_bytes()
    assert handler.requests[1] == f'bytes={len(source.read_bytes()) // 3}-'


def test_stale_part_file_restarts(server, source, tmp_path):
    """A .part that resumes into a bad checksum is dropped and refetched."""
    url, handler = server()
    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    (data_dir / (ARCHIVE + '.part')).write_bytes(b'garbage' * 100)
    voc = download_voc(data_dir, url=url, sha1=sha1(source), progress=False)
    assert is_complete_voc(voc)
    assert handler.requests == ['bytes=700-', None]
