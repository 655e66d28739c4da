# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing files in directories others may write to, without following links.

The project runs as root in config, state and run directories. A link
planted at a file name must never redirect a write: temporary files are
unnamed (``O_TMPFILE``) in the target's directory and linked in under the
target's name, which fails instead of following anything already there;
then, or where ``O_TMPFILE`` is unsupported, they get a random name
(``O_EXCL|O_NOFOLLOW``) and are renamed over the target, which replaces a
link at the target instead of writing through it. A link as the directory itself
(chosen by whoever configured it) is followed as usual.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import IO, Optional, Union

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_READ_CHUNK = 1 << 16
_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_TEMPORARY_ATTEMPTS = 100
_UNNAMED_FLAGS = getattr(os, "O_TMPFILE", 0) | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
# Linking an unnamed file by its descriptor needs /proc (AT_EMPTY_PATH needs privileges).
_UNNAMED = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_UNNAMED_UNSUPPORTED = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)


def read_regular(path: str, limit: Optional[int] = None) -> Optional[bytes]:
    """The bytes of a regular file at ``path``; None when missing, a link, or not a regular file."""
    try:
        # O_NONBLOCK: a FIFO planted at the name must not hang the open.
        descriptor = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", 40):  # a link
            return None
        raise
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return None
        # Plain reads on the descriptor: a file object per file costs more
        # than the read itself when a render compares thousands of files.
        want = info.st_size + 1 if limit is None else limit
        chunks = []
        while want > 0:
            chunk = os.read(descriptor, want)
            chunks.append(chunk)
            if len(chunk) < want:  # end of file
                break
            want = _READ_CHUNK if limit is None else want - len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(descriptor)


def read_regular_text(path: str, limit: Optional[int] = None) -> Optional[str]:
    data = read_regular(path, limit)
    return None if data is None else data.decode("utf-8", errors="replace")


def _existing_regular(path: str) -> Optional[os.stat_result]:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _temporary(path: str):
    """A new file beside ``path`` under a random name, created ``O_EXCL|O_NOFOLLOW``: (descriptor, name)."""
    directory, base = os.path.split(path)
    prefix = os.path.join(directory, "." + base[:64] + ".")
    for _attempt in range(_TEMPORARY_ATTEMPTS):
        temporary = prefix + os.urandom(6).hex() + ".tmp"
        try:
            return os.open(temporary, _TEMPORARY_FLAGS, 0o600), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", prefix + "*.tmp")


def _write_all(descriptor: int, data: Union[str, bytes], durable: bool) -> None:
    view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
    while view:
        view = view[os.write(descriptor, view):]
    if durable:
        os.fsync(descriptor)


def _keep_owner_and_mode(descriptor: int, path: str, mode: int) -> None:
    """A regular file already at ``path`` keeps its mode (and, for root, its owner)."""
    existing = _existing_regular(path)
    os.fchmod(descriptor, stat.S_IMODE(existing.st_mode) if existing else mode)
    if existing and os.geteuid() == 0:
        os.fchown(descriptor, existing.st_uid, existing.st_gid)


def _unnamed(directory: int) -> Optional[int]:
    """A new unnamed file in the open ``directory``; None where the system or file system has none."""
    if not _UNNAMED:
        return None
    try:
        return os.open(".", _UNNAMED_FLAGS, 0o600, dir_fd=directory)
    except OSError as exc:
        if exc.errno in _UNNAMED_UNSUPPORTED:
            return None
        raise


def _link(descriptor: int, directory: int, name: str) -> None:
    # A directory descriptor makes os.link call linkat(AT_SYMLINK_FOLLOW), which
    # resolves the /proc name to the unnamed file; linkat never follows a link
    # at the new name: it fails with EEXIST.
    os.link("/proc/self/fd/%d" % descriptor, name, dst_dir_fd=directory)


def _link_temporary(descriptor: int, directory: int, path: str) -> str:
    """Link the unnamed file at ``descriptor`` beside ``path`` under a random name; that path."""
    folder, base = os.path.split(path)
    for _attempt in range(_TEMPORARY_ATTEMPTS):
        name = "." + base[:64] + "." + os.urandom(6).hex() + ".tmp"
        try:
            _link(descriptor, directory, name)
            return os.path.join(folder, name)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", os.path.join(folder, "." + base[:64] + ".*.tmp"))


def _replace(temporary: str, path: str) -> None:
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def opened_directory(path: str):
    """``path`` opened once for many ``write_atomic(..., directory=)`` calls there (None where unused)."""
    if not _UNNAMED:
        yield None
        return
    directory = os.open(path, _DIRECTORY_FLAGS)
    try:
        yield directory
    finally:
        os.close(directory)


def write_atomic(path: str, data: Union[str, bytes], mode: int = 0o644, durable: bool = False,
                 directory: Optional[int] = None) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, never a part.

    A regular file already there keeps its mode (and, for root, its owner);
    anything else at the name (a link, a FIFO) is replaced, never followed.
    ``directory``: ``path``'s directory from ``opened_directory``, when writing many files there.
    """
    if _UNNAMED:
        opened = directory is None
        if opened:
            directory = os.open(os.path.dirname(path) or ".", _DIRECTORY_FLAGS)
        try:
            descriptor = _unnamed(directory)
            if descriptor is not None:
                try:
                    os.fchmod(descriptor, mode)
                    _write_all(descriptor, data, durable)
                    try:
                        _link(descriptor, directory, os.path.basename(path))
                        return
                    except FileExistsError:
                        pass
                    _keep_owner_and_mode(descriptor, path, mode)
                    temporary = _link_temporary(descriptor, directory, path)
                finally:
                    os.close(descriptor)
                _replace(temporary, path)
                return
        finally:
            if opened:
                os.close(directory)
    descriptor, temporary = _temporary(path)
    try:
        try:
            _keep_owner_and_mode(descriptor, path, mode)
            _write_all(descriptor, data, durable)
        finally:
            os.close(descriptor)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _replace(temporary, path)


def open_append(path: str, mode: int = 0o640) -> IO[bytes]:
    """``path`` opened for appending (created when missing); a link there is an error, not followed."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, mode)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError("%s is not a regular file" % path)
    return os.fdopen(descriptor, "ab")
