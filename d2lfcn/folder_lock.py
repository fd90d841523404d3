"""One writer per folder: the lock a training holds on its checkpoint
folder, and whether the process that left a temporary file still runs.

The lock is an advisory lock (flock) on the file `.lock` in the folder. The
operating system drops it when its process ends, however it ends (kill -9
included), so a crashed run never leaves a folder locked. The file itself
stays, and says which process held it last.
"""
import contextlib
import datetime
import errno
import os
import socket
import time
import warnings
from pathlib import Path

try:
    import fcntl
except ImportError:         # Windows: no flock; see _try_lock
    fcntl = None

LOCK_FILE = '.lock'


class FolderInUseError(BlockingIOError):
    """Another process holds the folder's lock."""


def process_alive(pid):
    """False only when no process with this pid exists (on this machine);
    True when one does, or when that cannot be told."""
    if os.name == 'nt':     # os.kill(pid, 0) would end the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's live process
        return True
    except (OverflowError, ValueError):
        return False
    return True


STALE_HOURS = 24
"""A leftover this old is removed even when its pid is in use: the pid of
a killed run can be given to a new process (containers, kernels), and
where liveness cannot be told (Windows) age is the only sign."""


def abandoned(path, pid, hours=STALE_HOURS):
    """True when the temporary file or folder `path`, named with the `pid`
    of the process that wrote it, may be removed: that process no longer
    runs, or path is older than `hours`. False when path is gone."""
    try:
        age = time.time() - Path(path).stat().st_mtime
    except OSError:
        return False
    return not process_alive(pid) or age > hours * 3600


LOCK_OFFSET = 1 << 20
"""Where the lock's byte lies on Windows (msvcrt), past the holder's text:
Windows locks are mandatory, and a locked byte cannot be read."""


def _try_lock(f):
    """Take the lock on the open file f without waiting: True, or False when
    another process holds it. OSError when the file system has no locks."""
    try:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            import msvcrt
            f.seek(LOCK_OFFSET)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError as e:
        if isinstance(e, BlockingIOError) or e.errno in (
                errno.EACCES, errno.EAGAIN, errno.EDEADLK):
            return False
        raise
    return True


def _unlock(f):
    """Release the lock before f is closed (closing releases a flock; on
    Windows the byte is unlocked explicitly)."""
    if fcntl is None:
        import msvcrt
        f.seek(LOCK_OFFSET)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)


def _holder(f):
    f.seek(0)
    return f.read(500).strip('\0\n ') or 'another process'


@contextlib.contextmanager
def locked_folder(folder, job='training', wait=False):
    """Hold the lock of `folder` (made if missing) for the `with` block.
    When another process holds it: FolderInUseError, before anything in the
    folder is touched; with wait=True, say so and wait until it is free.
    On a file system without locks: a warning, and no lock.
    folder None: no folder, no lock."""
    if folder is None:
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, 'a+') as f:
        try:
            locked = _wait_for_lock(f, folder, wait)
        except OSError as e:
            warnings.warn(f'cannot lock {folder} ({e}): this file system has '
                          f'no file locks, so a second training started on '
                          f'this folder would not be stopped', stacklevel=3)
            locked = None
        if locked is False:
            raise FolderInUseError(
                f'{folder} is in use by {_holder(f)}; wait until that run '
                f'ends (or stop it), or choose another folder for this one')
        if locked is None:
            yield
            return
        try:
            since = datetime.datetime.now().isoformat(timespec='seconds')
            f.seek(0)
            f.truncate()
            f.write(f'process {os.getpid()} on {socket.gethostname()} '
                    f'({job} since {since})\n')
            f.flush()
            yield
        finally:
            _unlock(f)


def _wait_for_lock(f, folder, wait):
    """True once f is locked; False if another process holds the lock and
    wait is False. wait=True: say who holds it, and wait until it is free."""
    for _ in range(5):      # in_use_by holds a free lock for an instant
        if _try_lock(f):
            return True
        time.sleep(0.1)
    if not wait:
        return False
    print(f'{folder} is in use by {_holder(f)}; waiting until that run ends',
          flush=True)
    while not _try_lock(f):
        time.sleep(0.5)
    return True


def in_use_by(folder):
    """Who holds the lock of `folder` (the text of its lock file), or None
    when nobody does. Creates nothing; a free lock is taken for an instant
    (which locked_folder allows for)."""
    path = Path(folder) / LOCK_FILE
    try:
        f = open(path, 'r+')
    except OSError:         # no lock file, no folder: not in use
        return None
    with f:
        try:
            if not _try_lock(f):
                return _holder(f)
        except OSError:     # no file locks here: nobody can hold one
            return None
        _unlock(f)
        return None
