# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile state kept between runs: a JSON file, written atomically, under a lock.

The state holds each aggregator's count of consecutive failed probes, the
producer assignment of every aggregator group, and a digest of each sampler
instance's config as last applied (ldmsd does not report it).

A state that is not valid JSON or not of that shape is moved aside (kept for
inspection as ``<file>.corrupt-<UTC time>``, or under the key
``<prefix>/state.corrupt-<UTC time>`` in etcd), the backend's ``discarded``
says so, and the run starts from the cluster file alone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import copy
import json
import os
import time
from typing import Callable, Dict, Iterable, Iterator, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.fileio import write_atomic
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.defaults import DEFAULTS

STATE_FILE = "reconcile-state.json"
LOCK_FILE = "reconcile.lock"
EMPTY_STATE = {"version": 1, "failures": {}, "assignments": {}, "sampler_configs": {}, "sampler_digests": {}}


def _mapping_problems(value, what: str, check_value, expected: str) -> List[str]:
    if not isinstance(value, dict):
        return ["%s is %s, not a mapping" % (what, type(value).__name__)]
    return ["%s[%r] is %r, not %s" % (what, key, item, expected)
            for key, item in value.items() if not check_value(item)][:3]


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_names(value) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def state_problems(data) -> List[str]:
    """Why ``data`` cannot be used as a reconcile state; [] when it can (missing sections are fine)."""
    if not isinstance(data, dict):
        return ["the state is %s, not a mapping" % ("null" if data is None else type(data).__name__)]
    problems = []
    if data.get("version", EMPTY_STATE["version"]) != EMPTY_STATE["version"]:
        problems.append("version is %r, not %r" % (data.get("version"), EMPTY_STATE["version"]))
    if "failures" in data:
        problems += _mapping_problems(data["failures"], "failures", _is_count, "a count")
    if "assignments" in data:
        problems += _mapping_problems(data["assignments"], "assignments", _is_names,
                                      "a mapping of producer to aggregator")
    if "sampler_configs" in data:
        problems += _mapping_problems(data["sampler_configs"], "sampler_configs", _is_names,
                                      "a mapping of instance to digest")
    if "sampler_digests" in data:
        problems += _mapping_problems(data["sampler_digests"], "sampler_digests", lambda item: isinstance(item, str),
                                      "a digest")
    return problems


def empty_state() -> dict:
    return copy.deepcopy(EMPTY_STATE)


def _completed(data: dict) -> dict:
    for key, value in EMPTY_STATE.items():
        data.setdefault(key, copy.deepcopy(value))
    return data


def _corrupt_suffix() -> str:
    return ".corrupt-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def default_etcd_prefix(cluster_file: str) -> str:
    """Where a cluster's state lives in etcd when no prefix is given: one key space per cluster file."""
    return "/hpc-ldms/" + os.path.splitext(os.path.basename(cluster_file))[0]


def saved_assignments(cluster_file: str, state_dir: Optional[str] = None, backend: str = "file",
                      etcd_endpoints: Iterable[str] = (), etcd_prefix: Optional[str] = None,
                      timeout: float = DEFAULTS["timeout"],
                      warn: Optional[Callable[[str], None]] = None) -> Dict[str, Dict[str, str]]:
    """The producer assignment the reconcile last saved, by aggregator group; {} when none was saved.

    An unusable state is left where it is (the reconcile moves it aside) and
    ``warn`` is told why, since the plans then ignore it.

    Read without the run lock: the file is replaced whole and the etcd key
    written in one transaction, so a reader sees one complete state.
    """
    if backend == "etcd":
        store = EtcdState(etcd_endpoints, etcd_prefix or default_etcd_prefix(cluster_file), timeout=timeout)
        store.client = store._connect()
    elif state_dir:
        store = FileState(state_dir)
    else:
        return {}
    data = store.load(check=True)
    if store.discarded and warn:
        warn("the reconcile's saved state at %s is unusable (%s): planned from the cluster file alone"
             % (store.discarded["location"], store.discarded["problem"]))
    return data.get("assignments") or {}


class StateBusy(Exception):
    """Another run holds the lock."""


class StateError(Exception):
    """The state cannot be read or written."""


class FileState:
    def __init__(self, directory: str, lock_wait: float = 0.0):
        self.directory = directory
        self.lock_wait = lock_wait
        self.path = os.path.join(directory, STATE_FILE)
        self.discarded: Optional[dict] = None

    @contextlib.contextmanager
    def locked(self, check: bool = False) -> Iterator[None]:
        """Hold the run lock; wait up to ``lock_wait`` seconds, then raise StateBusy.

        In check mode nothing is created or written: with no lock file yet, no run holds it.
        """
        path = os.path.join(self.directory, LOCK_FILE)
        if check and not os.path.lexists(path):
            yield
            return
        if not check:
            os.makedirs(self.directory, exist_ok=True)
        # O_NOFOLLOW: the pid written below must never land in a file a link points at.
        descriptor = os.open(path, os.O_RDWR | os.O_NOFOLLOW | (0 if check else os.O_CREAT), 0o600)
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
            if not check:
                os.ftruncate(descriptor, 0)
                os.write(descriptor, ("%d\n" % os.getpid()).encode())
            yield
        finally:
            os.close(descriptor)  # also drops the lock

    def load(self, check: bool = False) -> dict:
        """The state; an unusable one is moved aside (in check mode, left) and ``discarded`` says why."""
        self.discarded = None
        try:
            with open(self.path, "rb") as stream:
                text = stream.read()
        except FileNotFoundError:
            return empty_state()
        except IsADirectoryError:
            return self._set_aside("it is a directory", check)
        except OSError as exc:
            raise StateError("cannot read %s: %s" % (self.path, exc))
        try:
            data = json.loads(text)
        except ValueError as exc:
            return self._set_aside("not JSON: %s" % exc, check)
        problems = state_problems(data)
        if problems:
            return self._set_aside("; ".join(problems), check)
        return _completed(data)

    def _set_aside(self, problem: str, check: bool) -> dict:
        kept = candidate = self.path + _corrupt_suffix()
        number = 1
        while os.path.lexists(kept):  # never replace an earlier one kept the same second
            number += 1
            kept = "%s.%d" % (candidate, number)
        self.discarded = {"location": self.path, "kept_as": None if check else kept, "problem": problem}
        if check:
            return empty_state()
        try:
            os.replace(self.path, kept)
        except OSError as exc:
            raise StateError("%s cannot be used (%s) nor moved aside: %s" % (self.path, problem, exc))
        return empty_state()

    def save(self, data: dict) -> None:
        write_json_atomically(self.path, data)


def write_json_atomically(path: str, data) -> None:
    """Readers see the old file or the new one, never a part."""
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True), mode=0o600, durable=True)


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

    def __init__(self, endpoints, prefix: str, lock_wait: float = 0.0, lock_ttl: int = DEFAULTS["etcd_lock_ttl"],
                 timeout: float = DEFAULTS["timeout"]):
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
        self.discarded: Optional[dict] = None

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
    def locked(self, check: bool = False) -> Iterator[None]:  # pylint: disable=unused-argument
        """As FileState.locked; in check mode too, as the lease lock is no state and expires on its own."""
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

    def load(self, check: bool = False) -> dict:
        """As FileState.load."""
        from etcd3gw import exceptions

        try:
            values = self.client.get(self.key)
        except exceptions.Etcd3Exception as exc:
            raise NoQuorum("reading %s from etcd: %s" % (self.key, exc))
        self.discarded = None
        if not values:
            return empty_state()
        try:
            data = json.loads(values[0])
        except ValueError as exc:
            return self._set_aside(values[0], "not JSON: %s" % exc, check)
        problems = state_problems(data)
        if problems:
            return self._set_aside(values[0], "; ".join(problems), check)
        return _completed(data)

    def _set_aside(self, value: bytes, problem: str, check: bool) -> dict:
        """Keep the unusable value under another key; the next save replaces the state key."""
        kept = self.key + _corrupt_suffix()
        self.discarded = {"location": "etcd key %s" % self.key, "kept_as": None if check else "etcd key %s" % kept,
                          "problem": problem}
        if not check:
            self._put_locked(kept, value)
        return empty_state()

    def _put_locked(self, key: str, value) -> None:
        """Put ``key`` only while this run still holds the lock."""
        from etcd3gw import exceptions
        from etcd3gw.utils import _encode

        txn = {"compare": [{"key": _encode(self.lock.key), "result": "EQUAL", "target": "VALUE",
                            "value": _encode(self.lock.uuid)}],
               "success": [{"request_put": {"key": _encode(key), "value": _encode(value)}}]}
        try:
            result = self.client.transaction(txn)
        except exceptions.Etcd3Exception as exc:
            raise NoQuorum("writing %s to etcd: %s" % (key, exc))
        if not result.get("succeeded"):
            raise StateError("the etcd lock %s was lost (lease expired?): %s was not written" % (self.lock.key, key))

    def save(self, data: dict) -> None:
        """Write only while still holding the lock."""
        self._put_locked(self.key, json.dumps(data, sort_keys=True))
