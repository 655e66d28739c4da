# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One client for a running ldmsd, over LDMS's own ``ldmsd.ldmsd_communicator``.

The package is found under an LDMS prefix (option, ``LDMS_PREFIX``, or
``/opt/ovis``). Requests are built attribute by attribute: 4.5.3's
``LDMSD_Request.from_str()`` adds a second terminator and breaks requests
without attributes.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import io
import json
import os
import sys
import threading
from typing import Iterable, List, Optional, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

DEFAULT_PREFIX = "/opt/ovis"
DEFAULT_TIMEOUT = 5.0  # seconds to connect and for each reply
ENOSYS = 38  # "not implemented"
# Attributes ldmsd takes inside the free-form string attribute, not by id.
_STRING_VERBS = ("config", "env")

CONNECTION_ARGSPEC = {
    "host": {"type": "str", "default": "localhost"},
    "port": {"type": "int"},
    "xprt": {"type": "str", "default": "sock"},
    "auth": {"type": "str", "default": "none"},
    "auth_opts": {"type": "dict"},
    "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
    "ldms_prefix": {"type": "path"},
}


class LdmsdError(Exception):
    """A failure talking to ldmsd; the message says what to check."""

    def __init__(self, message: str, errcode: Optional[int] = None, command: Optional[str] = None):
        super().__init__(message)
        self.errcode = errcode
        self.command = command


class LdmsdUnreachable(LdmsdError):
    """No connection to ldmsd could be made: the daemon is down, or not listening where it was looked for."""


def site_package_dirs(prefix: str) -> List[str]:
    patterns = [os.path.join(prefix, lib, "python3*", kind)
                for lib in ("lib", "lib64", "lib*") for kind in ("site-packages", "dist-packages")]
    found: List[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path not in found:
                found.append(path)
    return found


def load_communicator(prefix: Optional[str] = None):
    """Import ``ldmsd.ldmsd_communicator`` from the LDMS installed at ``prefix``."""
    prefix = prefix or os.environ.get("LDMS_PREFIX") or DEFAULT_PREFIX
    candidates = [path for path in site_package_dirs(prefix)
                  if os.path.exists(os.path.join(path, "ldmsd", "ldmsd_communicator.py"))]
    if not candidates:
        raise LdmsdError(
            "LDMS's Python package ldmsd.ldmsd_communicator was not found under %s (searched %s) for %s (Python %s). "
            "Install LDMS there, or set ldms_prefix / LDMS_PREFIX to its prefix."
            % (prefix, ", ".join(os.path.join(prefix, "lib*", "python3*", kind) for kind in ("site-packages", "dist-packages")),
               sys.executable, sys.version.split()[0]))
    loaded = sys.modules.get("ldmsd.ldmsd_communicator")
    if loaded is not None and not _loaded_from(loaded, candidates[0]):
        # A process holds one LDMS (its C extension cannot be loaded twice): never speak another's protocol.
        raise LdmsdError("ldmsd.ldmsd_communicator is already loaded from %s in this process, not from %s; "
                         "one process talks through one LDMS prefix" % (os.path.dirname(loaded.__file__), candidates[0]))
    if candidates[0] not in sys.path:
        sys.path.insert(0, candidates[0])
    try:
        return importlib.import_module("ldmsd.ldmsd_communicator")
    except ImportError as exc:
        raise LdmsdError("cannot import ldmsd.ldmsd_communicator from %s with %s: %s. If a shared library is missing, "
                         "set LD_LIBRARY_PATH=%s/lib" % (candidates[0], sys.executable, exc, prefix))


def _loaded_from(module, site_dir: str) -> bool:
    path = getattr(module, "__file__", None)
    return bool(path) and os.path.realpath(path).startswith(os.path.realpath(site_dir) + os.sep)


class LdmsdClient:
    """Requests to one ldmsd: ``request(verb, attrs) -> (errcode, reply)``."""

    def __init__(self, port: int, host: str = "localhost", xprt: str = "sock", auth: str = "none",
                 auth_opts: Optional[dict] = None, timeout: float = DEFAULT_TIMEOUT, ldms_prefix: Optional[str] = None):
        self.host, self.port, self.xprt = host, port, xprt
        self.auth, self.auth_opts, self.timeout = auth, auth_opts, timeout
        self.module = load_communicator(ldms_prefix)
        self.comm = None
        self._version = None

    @classmethod
    def from_params(cls, params: dict) -> "LdmsdClient":
        if not params.get("port"):
            raise LdmsdError("port is required to reach ldmsd")
        return cls(port=params["port"], host=params.get("host") or "localhost", xprt=params.get("xprt") or "sock",
                   auth=params.get("auth") or "none", auth_opts=params.get("auth_opts"),
                   timeout=params.get("timeout") or DEFAULT_TIMEOUT, ldms_prefix=params.get("ldms_prefix"))

    def where(self) -> str:
        return "%s:%s (xprt %s, auth %s)" % (self.host, self.port, self.xprt, self.auth)

    def connect(self):
        if self.comm is not None:
            return
        auth = None if self.auth in (None, "", "none") else self.auth
        # The communicator prints connection errors; a module's stdout must stay
        # JSON. sys.stdout is process-wide, so threads leave it to their caller.
        printed = io.StringIO()
        main = threading.current_thread() is threading.main_thread()
        try:
            with contextlib.redirect_stdout(printed) if main else contextlib.nullcontext():
                comm = self.module.Communicator(self.xprt, self.host, self.port, auth=auth,
                                                auth_opt=self.auth_opts, recv_timeout=self.timeout)
                rc = comm.connect(timeout=self.timeout)
        except Exception as exc:  # the transport raises plain exceptions
            raise LdmsdUnreachable("cannot reach ldmsd at %s: %s. Is ldmsd running and listening there?" % (self.where(), exc))
        if rc != 0:
            hint = ("Is ldmsd running and listening there?" if auth is None else
                    "Is ldmsd running and listening there, and does it accept auth %s with these options?" % self.auth)
            detail = printed.getvalue().strip()
            raise LdmsdUnreachable("cannot reach ldmsd at %s (error %s%s). %s"
                                   % (self.where(), rc, ": " + detail if detail else "", hint))
        self.comm = comm

    def close(self):
        if self.comm is not None:
            try:
                self.comm.close()
            finally:
                self.comm = None

    def _attributes(self, verb: str, attrs: Iterable[Tuple[str, Optional[str]]]):
        module = self.module
        by_id, free_form = [], []
        for key, value in attrs:
            text = key if value is None else "%s=%s" % (key, value)
            if value is None or (verb in _STRING_VERBS and key != "name"):
                free_form.append(text)
                continue
            try:
                by_id.append(module.LDMSD_Req_Attr(value=str(value), attr_name=key))
            except KeyError:
                free_form.append(text)
        if free_form:
            by_id.append(module.LDMSD_Req_Attr(value=" ".join(free_form), attr_id=module.LDMSD_Req_Attr.STRING))
        return by_id or None

    def request(self, verb: str, attrs: Iterable[Tuple[str, Optional[str]]] = ()) -> Tuple[int, Optional[str]]:
        self.connect()
        module = self.module
        if verb not in module.LDMSD_Request.LDMSD_REQ_ID_MAP:
            raise LdmsdError("this LDMS (%s) has no request %r" % (self.version(), verb), errcode=ENOSYS, command=verb)
        request = module.LDMSD_Request(command=verb, attrs=self._attributes(verb, attrs))
        try:
            request.send(self.comm)
            reply = request.receive(self.comm)
        except Exception as exc:
            self.close()
            raise LdmsdError("lost the connection to ldmsd at %s during %s: %s" % (self.where(), verb, exc), command=verb)
        return reply["errcode"], reply["msg"]

    def send(self, command: Command) -> Tuple[int, Optional[str]]:
        return self.request(command.verb, command.attrs)

    def status(self, verb: str, attrs: Iterable[Tuple[str, Optional[str]]] = ()):
        """A status request's reply as JSON; a failure raises with the daemon's message."""
        errcode, message = self.request(verb, attrs)
        if errcode == ENOSYS:
            raise LdmsdError("ldmsd at %s (%s) does not implement %s" % (self.where(), self.version(), verb),
                             errcode=errcode, command=verb)
        if errcode:
            raise LdmsdError("%s failed on %s: errcode %d: %s" % (verb, self.where(), errcode, message),
                             errcode=errcode, command=verb)
        try:
            return json.loads(message) if message else []
        except ValueError:
            raise LdmsdError("%s on %s replied with something that is not JSON: %r" % (verb, self.where(), message[:200]))

    def sets_directory(self) -> List[dict]:
        """The daemon's set directory over the LDMS transport (``ovis_ldms``'s dir).

        Each entry: name, schema, info (the set-info dict, where ldmsd keeps
        ``updt_hint_us``) and timestamp (seconds of the last transaction).
        """
        self.connect()  # puts LDMS's site-packages on sys.path, and fails clearly
        try:
            ldms = importlib.import_module("ovis_ldms.ldms")
        except ImportError as exc:
            raise LdmsdError("cannot import ovis_ldms.ldms (LDMS's Python transport) with %s: %s"
                             % (sys.executable, exc))
        try:
            xprt = ldms.Xprt(name=self.xprt, auth=self.auth or "none", auth_opts=self.auth_opts)
            xprt.connect(host=self.host, port=self.port, timeout=self.timeout)
            try:
                entries = xprt.dir()
            finally:
                xprt.close()
        except Exception as exc:  # the transport raises ConnectionError and plain exceptions
            raise LdmsdError("set directory of ldmsd at %s failed: %s" % (self.where(), exc), command="dir")
        return [{"name": entry.name, "schema": entry.schema_name, "info": dict(entry.info),
                 "timestamp": entry.timestamp[0] + entry.timestamp[1] / 1e6} for entry in entries]

    def version(self) -> str:
        if self._version is None:
            errcode, message = self.request("version") if "version" in self.module.LDMSD_Request.LDMSD_REQ_ID_MAP else (1, None)
            self._version = "unknown version"
            if errcode == 0 and message:
                try:
                    reply = json.loads(message)
                    self._version = "LDMS %s" % reply.get("LDMSD Version", reply.get("LDMS Version", message))
                except (ValueError, AttributeError):
                    self._version = message.strip()
        return self._version
