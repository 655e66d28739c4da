# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ldmsd as a plain background process: pid file, log file, start-up digest.

The pid file holds the pid; a JSON file beside it (``<pidfile>.json``) holds
the digest of what the process was started with, so that a changed command
line, environment or start-up config restarts it and nothing else does.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.fileio import open_append, read_regular_text, write_atomic


class ProcessError(Exception):
    pass


@dataclass
class ProcessSpec:
    argv: List[str]
    environment: Dict[str, str]
    pidfile: str
    log: str
    startup_digest: str = ""
    ready_host: Optional[str] = None
    ready_port: Optional[int] = None
    timeout: float = 30.0

    def digest(self) -> str:
        text = json.dumps([self.argv, sorted(self.environment.items()), self.startup_digest])
        return hashlib.sha256(text.encode()).hexdigest()


def ldms_runtime_env(prefix: str) -> Dict[str, str]:
    """Where an ldmsd of a prefix finds its libraries and plugins."""
    lib = os.path.join(prefix, "lib")
    return {"LD_LIBRARY_PATH": lib, "LDMSD_PLUGIN_LIBPATH": os.path.join(lib, "ovis-ldms"),
            "ZAP_LIBPATH": os.path.join(lib, "ovis-ldms")}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def running(spec: ProcessSpec) -> Optional[dict]:
    """The recorded process of the pid file, when it is alive: {pid, digest}."""
    try:
        pid = int((read_regular_text(spec.pidfile, 64) or "").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _pid_alive(pid):
        return None
    record = {"pid": pid, "digest": None}
    try:
        record["digest"] = json.loads(read_regular_text(spec.pidfile + ".json") or "{}").get("digest")
    except (OSError, ValueError, AttributeError):
        pass
    return record


def _log_tail(path: str, lines: int = 10) -> str:
    try:
        with open(path, errors="replace") as stream:
            return "".join(stream.readlines()[-lines:]).strip()
    except OSError:
        return ""


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def start(spec: ProcessSpec) -> int:
    for path in (spec.pidfile, spec.log):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    env = dict(os.environ)
    env.update(spec.environment)
    with open_append(spec.log) as log, open(os.devnull, "rb") as devnull:
        # A new session: the daemon outlives the module and the connection.
        process = subprocess.Popen(spec.argv, stdin=devnull, stdout=log, stderr=log, env=env,
                                   start_new_session=True, close_fds=True)
    deadline = time.monotonic() + spec.timeout
    while True:
        code = process.poll()
        if code is not None:
            raise ProcessError("%s exited with status %d at start; the end of %s:\n%s"
                               % (spec.argv[0], code, spec.log, _log_tail(spec.log)))
        if spec.ready_port is None or _listening(spec.ready_host or "localhost", spec.ready_port):
            break
        if time.monotonic() > deadline:
            process.terminate()
            raise ProcessError("%s did not listen on %s:%s within %.0f s; the end of %s:\n%s"
                               % (spec.argv[0], spec.ready_host, spec.ready_port, spec.timeout, spec.log,
                                  _log_tail(spec.log)))
        time.sleep(0.2)
    write_atomic(spec.pidfile, "%d\n" % process.pid)
    write_atomic(spec.pidfile + ".json", json.dumps({"digest": spec.digest(), "argv": spec.argv}), mode=0o600)
    return process.pid


def stop(spec: ProcessSpec, pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for path in (spec.pidfile, spec.pidfile + ".json"):
        if os.path.lexists(path):
            os.unlink(path)


def plan(spec: ProcessSpec, state: str) -> List[str]:
    """The actions to take: [] when nothing, else some of 'stop PID' and 'start'."""
    current = running(spec)
    actions = []
    if current and (state in ("stopped", "restarted") or current["digest"] != spec.digest()):
        actions.append("stop %d" % current["pid"])
    if state in ("started", "restarted") and (actions or not current):
        actions.append("start")
    return actions
