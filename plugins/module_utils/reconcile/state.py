# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile state kept between runs: a JSON file, written atomically, under a lock.

The state holds each aggregator's count of consecutive failed probes, the
producer assignment of every aggregator group, and a digest of each sampler
instance's config as last applied (ldmsd does not report it).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import tempfile
import time
from typing import Iterator

STATE_FILE = "reconcile-state.json"
LOCK_FILE = "reconcile.lock"
EMPTY_STATE = {"version": 1, "failures": {}, "assignments": {}, "sampler_configs": {}}


class StateBusy(Exception):
    """Another run holds the lock."""


class StateError(Exception):
    """The state cannot be read or written."""


class FileState:
    def __init__(self, directory: str, lock_wait: float = 0.0):
        self.directory = directory
        self.lock_wait = lock_wait
        self.path = os.path.join(directory, STATE_FILE)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run lock; wait up to ``lock_wait`` seconds, then raise StateBusy."""
        os.makedirs(self.directory, exist_ok=True)
        descriptor = os.open(os.path.join(self.directory, LOCK_FILE), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            deadline = time.monotonic() + self.lock_wait
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise StateBusy("another reconcile holds %s" % os.path.join(self.directory, LOCK_FILE))
                    time.sleep(0.2)
            os.ftruncate(descriptor, 0)
            os.write(descriptor, ("%d\n" % os.getpid()).encode())
            yield
        finally:
            os.close(descriptor)  # also drops the lock

    def load(self) -> dict:
        try:
            with open(self.path) as stream:
                data = json.load(stream)
        except FileNotFoundError:
            return json.loads(json.dumps(EMPTY_STATE))
        except (OSError, ValueError) as exc:
            raise StateError("cannot read %s: %s" % (self.path, exc))
        for key, value in EMPTY_STATE.items():
            data.setdefault(key, json.loads(json.dumps(value)))
        return data

    def save(self, data: dict) -> None:
        write_json_atomically(self.path, data)


def write_json_atomically(path: str, data) -> None:
    """Readers see the old file or the new one, never a part."""
    directory = os.path.dirname(path) or "."
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(descriptor, "w") as stream:
            json.dump(data, stream, indent=1, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
