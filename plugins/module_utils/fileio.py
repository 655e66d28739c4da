# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing files in directories others may write to, without following links.

The project runs as root in config, state and run directories. A link
planted at a file name must never redirect a write: temporary files are
created with ``O_EXCL|O_NOFOLLOW`` under a random name in the target's
directory and renamed over the target, which replaces a link
at the target instead of writing through it. A link as the directory itself
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


def write_atomic(path: str, data: Union[str, bytes], mode: int = 0o644, durable: bool = False) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, never a part.

    A regular file already there keeps its mode (and, for root, its owner);
    anything else at the name (a link, a FIFO) is replaced, never followed.
    """
    descriptor, temporary = _temporary(path)
    try:
        try:
            existing = _existing_regular(path)
            os.fchmod(descriptor, stat.S_IMODE(existing.st_mode) if existing else mode)
            if existing and os.geteuid() == 0:
                os.fchown(descriptor, existing.st_uid, existing.st_gid)
            view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
            while view:
                view = view[os.write(descriptor, view):]
            if durable:
                os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def open_append(path: str, mode: int = 0o640) -> IO[bytes]:
    """``path`` opened for appending (created when missing); a link there is an error, not followed."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags, mode)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError("%s is not a regular file" % path)
    return os.fdopen(descriptor, "ab")
