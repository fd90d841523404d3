"""One writer per folder: the lock a training holds on its checkpoint
folder, and whether the process that left a temporary file still runs.

The lock is an advisory lock (flock) on the file `.lock` in the folder. The
operating system drops it when its process ends, however it ends (kill -9
included), so a crashed run never leaves a folder locked. The file itself
stays, and says which process held it last.
"""
import contextlib
import datetime
import os
import socket
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


def _try_lock(f, block=False):
    """Take the lock on the open file f; False if another process holds it
    (block=True: wait until it is free)."""
    try:
        if fcntl is not None:
            fcntl.flock(f.fileno(),
                        fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        else:
            import msvcrt
            msvcrt.locking(f.fileno(),
                           msvcrt.LK_LOCK if block else msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder(f):
    f.seek(0)
    return f.read().strip() or 'another process'


@contextlib.contextmanager
def locked_folder(folder, job='training', wait=False):
    """Hold the lock of `folder` (made if missing) for the `with` block.
    When another process holds it: FolderInUseError, before anything in the
    folder is touched; with wait=True, say so and wait until it is free.
    folder None: no folder, no lock."""
    if folder is None:
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, 'a+') as f:
        if not _try_lock(f):
            if not wait:
                raise FolderInUseError(
                    f'{folder} is in use by {_holder(f)}; wait until that '
                    f'run ends (or stop it), or choose another folder for '
                    f'this one')
            print(f'{folder} is in use by {_holder(f)}; waiting until that '
                  f'run ends', flush=True)
            if not _try_lock(f, block=True):
                raise FolderInUseError(f'cannot lock {folder / LOCK_FILE}')
        since = datetime.datetime.now().isoformat(timespec='seconds')
        f.seek(0)
        f.truncate()
        f.write(f'process {os.getpid()} on {socket.gethostname()} '
                f'({job} since {since})\n')
        f.flush()
        yield


def in_use_by(folder):
    """Who holds the lock of `folder` (the text of its lock file), or None
    when nobody does. Takes no lock and creates nothing."""
    path = Path(folder) / LOCK_FILE
    try:
        f = open(path, 'r+')
    except OSError:         # no lock file, no folder: not in use
        return None
    with f:
        if _try_lock(f):
            return None     # closing the file releases the lock again
        return _holder(f)
