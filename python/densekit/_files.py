"""Atomic file writes, shared by everything that writes a user's file (model files, ONNX exports,
the CLI's outputs).

What it guarantees: the file at `path` is either the previous one or the complete new one, never
a torn mix, whatever fails (a full disk, an exception, a crash): the bytes go to a temporary file
in the same directory, are flushed to disk, optionally checked by the caller as they lie on disk
(`verify`), and only then renamed over `path`. What it must not do: leave temporary files behind,
or follow any policy beyond that (no backups, no locking).
"""

import errno
import os


def atomic_write(path, data, where, verify=None):
    """Writes `data` (bytes) to `path` atomically; `where` names the caller in error messages.

    verify: None, or a function called with the temporary file's path once it is complete and
    on disk, before the rename; whatever it raises propagates and the previous file stays."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: {path!r} is a directory")
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"{where}: no such directory", directory)
    base = os.path.basename(path)
    tmp = None
    for _ in range(100):
        candidate = os.path.join(directory, f".{base}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        tmp = candidate
        break
    if tmp is None:
        raise OSError(f"{where}: could not create a temporary file in {directory!r}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if verify is not None:
            verify(tmp)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_directory(directory)


def _fsync_directory(directory):
    # Makes the rename itself durable (POSIX); not possible or needed everywhere.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
