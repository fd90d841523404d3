"""Download, verify and extract Pascal VOC 2012 (the reader, d2lfcn.voc,
never downloads: it reads a folder it is given or finds).

download_voc fetches the 2 GB archive (resuming an interrupted download),
checks its SHA-1, extracts it with tarfile's 'data' filter (no path
escapes the target, no links, no device files) by way of a
temporary folder, so that a half-extracted tree never counts as a dataset.
"""
import hashlib
import http.client
import os
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request

from d2lfcn import locations
from d2lfcn.voc import is_complete_voc

VOC_URL = ('http://host.robots.ox.ac.uk/pascal/VOC/voc2012/'
           'VOCtrainval_11-May-2012.tar')
VOC_SHA1 = '4e443f8a2eca6b1dac8a6c57641b67dd40621a49'
VOC_ARCHIVE = 'VOCtrainval_11-May-2012.tar'


def _sha1(path, chunk=1 << 20):
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _manual_hint(archive, url):
    return (f'download {url} by hand (about 2 GB) and place it at {archive}, '
            f'then call download_voc again: it verifies and extracts it')


def _fetch(url, part, timeout, progress):
    """Download url into the file part, resuming from its current size."""
    start = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url)
    if start:
        request.add_header('Range', f'bytes={start}-')
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:     # nothing left to fetch
            return
        raise
    with response:
        status = getattr(response, 'status', None) or response.getcode()
        if start and status != 206:     # server ignored the range: restart
            start = 0
        total = response.headers.get('Content-Length')
        total = int(total) + start if total else None
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, initial=start, unit='B', unit_scale=True,
                       desc=part.name.replace('.part', ''))
        with open(part, 'ab' if start else 'wb') as f:
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                f.write(block)
                if bar is not None:
                    bar.update(len(block))
        if bar is not None:
            bar.close()
        if total is not None and part.stat().st_size < total:
            raise ConnectionError(
                f'download of {url} stopped at {part.stat().st_size} of '
                f'{total} bytes; call download_voc again to resume')


def _refuse_links(tar, archive):
    """The VOC archive holds only folders and files. tarfile's 'data' filter
    (used to extract) keeps every path inside the target and refuses device
    files, but allows links within the target: refuse those too."""
    for member in tar.getmembers():
        if member.issym() or member.islnk():
            raise ValueError(f'archive {archive} has a link {member.name!r}; '
                             f'refusing to extract links')


def _extract(archive, data_dir):
    """Extract archive into data_dir/VOCdevkit/VOC2012 by way of a temp dir
    that is renamed at the end, so a half-extracted tree never counts."""
    target = data_dir / 'VOCdevkit' / 'VOC2012'
    tmp = data_dir / f'.extract-{os.getpid()}-{time.time_ns()}'
    try:
        try:
            with tarfile.open(archive) as tar:
                _refuse_links(tar, archive)
                tmp.mkdir(parents=True)
                tar.extractall(tmp, filter='data')
        except tarfile.FilterError as e:
            raise ValueError(f'archive {archive} has a member that would '
                             f'land outside the target folder or is not a '
                             f'plain file ({e}); refusing to extract '
                             f'it') from None
        except (tarfile.TarError, EOFError, OSError) as e:
            raise ValueError(f'cannot extract {archive} ({e}); the archive '
                             f'is damaged: delete it and call download_voc '
                             f'again') from None
        extracted = tmp / 'VOCdevkit' / 'VOC2012'
        if not is_complete_voc(extracted):
            raise ValueError(f'archive {archive} has no complete '
                             f'VOCdevkit/VOC2012 segmentation data; is it '
                             f'{VOC_ARCHIVE}?')
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():     # incomplete, and maybe holding the user's files
            _merge_without_replacing(extracted, target)
            if not is_complete_voc(target):
                raise ValueError(
                    f'{target} existed and still lacks parts of VOC 2012 '
                    f'after the archive was added to it, because some of its '
                    f'own entries have the names of VOC folders; nothing of '
                    f'it was replaced. Move it away and call download_voc '
                    f'again')
        else:
            os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _merge_without_replacing(source, target):
    """Move every file and folder of source into target that target does
    not have, folder by folder; what target already holds is kept."""
    for entry in source.iterdir():
        there = target / entry.name
        if not there.exists() and not there.is_symlink():
            os.replace(entry, there)
        elif entry.is_dir() and there.is_dir() and not there.is_symlink():
            _merge_without_replacing(entry, there)


def _check_download_args(url, sha1, timeout):
    """ValueError or TypeError naming a download_voc argument that cannot
    work, before anything is fetched or written."""
    if not isinstance(url, str) or \
            url.split('://', 1)[0].lower() not in ('http', 'https', 'ftp',
                                                   'file'):
        raise ValueError(f'url must be an http(s), ftp or file:// address '
                         f'(a str), got {url!r}; the default is {VOC_URL}')
    if sha1 is not None and not (
            isinstance(sha1, str) and len(sha1) == 40
            and all(c in '0123456789abcdefABCDEF' for c in sha1)):
        raise ValueError(f'sha1 must be None or the 40 hex digits of the '
                         f'archive\'s SHA-1, got {sha1!r}; the default is '
                         f'{VOC_SHA1}')
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 < timeout < float('inf'):
        raise ValueError(f'timeout must be a number of seconds > 0, got '
                         f'{timeout!r}')


def download_voc(data_dir=None, url=VOC_URL, sha1=VOC_SHA1, timeout=10,
                 progress=True):
    """Download, verify and extract Pascal VOC 2012 (trainval, 2 GB).

    Returns data_dir/VOCdevkit/VOC2012 (data_dir defaults to
    d2lfcn.DATA_DIR). An archive already at data_dir/<archive name> (placed
    by hand) is used as it is; an interrupted download (<archive>.part) is
    resumed. The SHA-1 is checked before anything is extracted; members
    that are links or would land outside data_dir are refused. timeout:
    seconds to wait for the server before failing with a hint.
    """
    _check_download_args(url, sha1, timeout)
    sha1 = sha1 and sha1.lower()        # as hexdigest() writes it
    given = data_dir
    data_dir = locations.checked_data_dir(given, write=False)
    target = data_dir / 'VOCdevkit' / 'VOC2012'
    if is_complete_voc(target):
        return target
    locations.checked_data_dir(given)       # made, and writable
    archive = data_dir / url.rstrip('/').rsplit('/', 1)[-1]
    part = archive.with_name(archive.name + '.part')
    if not archive.exists():
        for attempt in (1, 2):          # resume once, then from scratch
            try:
                _fetch(url, part, timeout, progress)
            except (urllib.error.URLError, socket.timeout, ConnectionError,
                    http.client.HTTPException, OSError) as e:
                raise ConnectionError(
                    f'could not download {url} ({e}); if this computer is '
                    f'offline, {_manual_hint(archive, url)}') from None
            if sha1 is None or _sha1(part) == sha1:
                os.replace(part, archive)
                break
            part.unlink()
            if attempt == 2:
                raise ValueError(
                    f'the download of {url} has the wrong SHA-1 twice; the '
                    f'server may be serving a different file. '
                    f'{_manual_hint(archive, url)}')
    elif sha1 is not None and _sha1(archive) != sha1:
        raise ValueError(
            f'{archive} has SHA-1 {_sha1(archive)}, expected {sha1}: it is '
            f'damaged or incomplete. Delete it and call download_voc again, '
            f'or {_manual_hint(archive, url)}')
    return _extract(archive, data_dir)
