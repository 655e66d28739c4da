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
EMPTY_STATE = {"version": 1, "failures": {}, "assignments": {}, "sampler_configs": {}, "sampler_digests": {}}


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


class NoQuorum(StateError):
    """etcd cannot serve linearizable requests: nothing may change."""


class EtcdState:
    """The same state in etcd, for several management hosts.

    The run lock is an etcd lease lock under ``<prefix>/lock``, so exactly one
    host acts at a time and a crashed holder's lock expires with its lease.
    The state is written only while this run still holds the lock (one
    transaction compares the lock's value). Without quorum every request
    fails, and NoQuorum says so before anything is applied.
    """

    def __init__(self, endpoints, prefix: str, lock_wait: float = 0.0, lock_ttl: int = 300, timeout: float = 5.0):
        try:
            import etcd3gw  # noqa: F401 (a pinned requirement; optional for the file backend)
        except ImportError as exc:
            raise StateError("the etcd state backend needs the Python package etcd3gw (%s)" % exc)
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise StateError("the etcd state backend needs at least one endpoint (host:port)")
        self.prefix = prefix.rstrip("/")
        self.lock_wait, self.lock_ttl, self.timeout = lock_wait, lock_ttl, timeout
        self.key = self.prefix + "/state"
        self.client = None
        self.lock = None

    def _connect(self):
        """The first endpoint whose member answers a linearizable read (so its cluster has quorum)."""
        import etcd3gw
        from etcd3gw import exceptions

        problems = []
        for endpoint in self.endpoints:
            host, _sep, port = endpoint.rpartition(":")
            client = etcd3gw.client(host=host or "localhost", port=int(port), timeout=self.timeout, api_path="/v3/")
            try:
                client.get(self.key)  # linearizable: needs a quorum
                return client
            except (exceptions.Etcd3Exception, OSError, ValueError) as exc:
                problems.append("%s: %s" % (endpoint, str(exc).strip()[:200] or type(exc).__name__))
        raise NoQuorum("etcd has no quorum or cannot be reached, so nothing was changed (%s)" % "; ".join(problems))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        from etcd3gw import exceptions

        self.client = self._connect()
        lock = self.client.lock(id=self.prefix.lstrip("/") + "/lock", ttl=self.lock_ttl)
        deadline = time.monotonic() + self.lock_wait
        try:
            while not lock.acquire():
                lock.lease.revoke()
                if time.monotonic() >= deadline:
                    raise StateBusy("another host or run holds the etcd lock %s" % lock.key)
                time.sleep(0.5)
        except exceptions.Etcd3Exception as exc:
            raise NoQuorum("etcd lock %s: %s; nothing was changed" % (lock.key, exc))
        self.lock = lock
        try:
            yield
        finally:
            self.lock = None
            try:
                lock.release()
                lock.lease.revoke()
            except exceptions.Etcd3Exception:
                pass  # the lease expires on its own

    def load(self) -> dict:
        from etcd3gw import exceptions

        try:
            values = self.client.get(self.key)
        except exceptions.Etcd3Exception as exc:
            raise NoQuorum("reading %s from etcd: %s" % (self.key, exc))
        data = json.loads(values[0]) if values else json.loads(json.dumps(EMPTY_STATE))
        for key, value in EMPTY_STATE.items():
            data.setdefault(key, json.loads(json.dumps(value)))
        return data

    def save(self, data: dict) -> None:
        """Write only while still holding the lock."""
        from etcd3gw import exceptions
        from etcd3gw.utils import _encode

        txn = {"compare": [{"key": _encode(self.lock.key), "result": "EQUAL", "target": "VALUE",
                            "value": _encode(self.lock.uuid)}],
               "success": [{"request_put": {"key": _encode(self.key),
                                            "value": _encode(json.dumps(data, sort_keys=True))}}]}
        try:
            result = self.client.transaction(txn)
        except exceptions.Etcd3Exception as exc:
            raise NoQuorum("writing %s to etcd: %s" % (self.key, exc))
        if not result.get("succeeded"):
            raise StateError("the etcd lock %s was lost (lease expired?): the state was not written" % self.lock.key)
