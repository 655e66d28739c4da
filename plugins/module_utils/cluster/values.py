# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scalar values of the cluster file: times, permissions, booleans.

Every parser takes the YAML path of the value so that a bad value fails with
one message naming where it is.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError

# ldmsd expands these itself; a whole-value reference is passed through.
ENV_REF_RE = re.compile(r"^\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$")

_TIME_UNITS_US = {
    "us": 1,
    "ms": 1000,
    "s": 1000000,
    "m": 60 * 1000000,
    "h": 3600 * 1000000,
    "d": 86400 * 1000000,
}
_TIME_RE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(us|ms|s|m|h|d)?\s*$", re.IGNORECASE)

_PERM_SYMBOLIC_RE = re.compile(r"^([r-])([w-])([x-])([r-])([w-])([x-])([r-])([w-])([x-])$")
_PERM_OCTAL_RE = re.compile(r"^0?[0-7]{1,3}$")

_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}


def is_env_ref(value) -> bool:
    return isinstance(value, str) and bool(ENV_REF_RE.match(value))


def parse_time_us(value, path: str):
    """Return a time value in microseconds, exactly.

    Accepts ints (already µs), and strings such as ``1.0s``, ``100ms``,
    ``-100ms``, ``10us``, ``2m``, ``1h``, ``1d`` or a bare number of µs.
    Decimal arithmetic keeps ``2.01s`` at 2010000 (float would give 2009999).
    A whole-value ``${VAR}`` is returned unchanged for ldmsd to expand.
    """
    if isinstance(value, bool):
        raise ClusterError(path, "expected a time such as 1s or 100ms, got a boolean")
    if isinstance(value, int):
        return _time_in_range(int(value), value, path)  # a plain int, never the loader's subclass
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ClusterError(path, "%r is not a time" % value)
        if value != int(value):
            raise ClusterError(path, "%r is a fraction of a microsecond; write a unit, e.g. 1.5s" % value)
        return _time_in_range(int(value), value, path)
    if not isinstance(value, str):
        raise ClusterError(path, "expected a time such as 1s or 100ms, got %s" % type(value).__name__)
    if is_env_ref(value):
        return value
    match = _TIME_RE.match(value)
    if not match:
        raise ClusterError(path, "bad time value %r (use e.g. 1s, 100ms, 10us, 2m, 1h or microseconds)" % value)
    number, unit = match.groups()
    try:
        micros = Decimal(number) * _TIME_UNITS_US[(unit or "us").lower()]
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise ClusterError(path, "bad time value %r" % value)
    if abs(micros) > TIME_MAX_US:  # before int(): 1e999999999 would take forever
        raise ClusterError(path, "%r is too long for ldmsd (at most %d us)" % (value, TIME_MAX_US))
    if micros != micros.to_integral_value():
        raise ClusterError(path, "%r is not a whole number of microseconds" % value)
    return _time_in_range(int(micros), value, path)


def _time_in_range(micros: int, value, path: str) -> int:
    if abs(micros) > TIME_MAX_US:
        raise ClusterError(path, "%r is too long for ldmsd (at most %d us)" % (value, TIME_MAX_US))
    return micros


def parse_perm(value, path: str) -> str:
    """Return a permission as a 4-digit octal string (``0644``).

    Accepts ``0777``, ``644``, an int written in YAML as octal-looking digits,
    and the symbolic ``rw-r--r--`` (``x`` bits are meaningless for sets).
    """
    if isinstance(value, bool):
        raise ClusterError(path, "expected a permission such as 0644 or rw-r--r--, got a boolean")
    if isinstance(value, int):
        # The loader keeps the written digits (0777 would otherwise be 511):
        # a permission is always read as the octal digits the user wrote.
        value = getattr(value, "source", None) or str(value)
    if not isinstance(value, str):
        raise ClusterError(path, "expected a permission such as 0644 or rw-r--r--, got %s" % type(value).__name__)
    text = value.strip()
    if _PERM_OCTAL_RE.match(text):
        return "0" + text.lstrip("0").rjust(3, "0") if text.lstrip("0") else "0000"
    symbolic = _PERM_SYMBOLIC_RE.match(text)
    if symbolic:
        bits = 0
        for index, char in enumerate(symbolic.groups()):
            if char != "-":
                bits |= 1 << (8 - index)
        return "0%03o" % bits
    raise ClusterError(path, "bad permission %r (use e.g. 0644, 644 or rw-r--r--)" % value)


def parse_bool(value, path: str) -> bool:
    """YAML booleans, and their usual string spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ClusterError(path, "expected true or false, got %r" % (value,))


def parse_int(value, path: str, minimum=None):
    """An integer option (port, rail, quota...), written as int or digits; ${VAR} passes."""
    if isinstance(value, bool):
        raise ClusterError(path, "expected an integer, got a boolean")
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, str) and is_env_ref(value):
        return value
    elif isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        number = int(value)
    else:
        raise ClusterError(path, "expected an integer, got %r" % (value,))
    if minimum is not None and number < minimum:
        raise ClusterError(path, "must be at least %d, got %d" % (minimum, number))
    return number


# -- what ldmsd 4.5.3 can carry ---------------------------------------------

# LDMS_PRODUCER_NAME_MAX is 64 with the NUL, LDMSD_MAX_PLUGIN_NAME_LEN 64: a
# daemon name is also a set's producer name, so every name stays under both.
NAME_MAX = 63
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@+-]*$")
# Host names and addresses (IPv4, IPv6, with a %zone); ldmsd passes them to getaddrinfo.
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:%-]+$")
HOST_MAX = 255
# ldmsd splits a config line into attributes at spaces and tabs, and lines at
# newlines; a line ending in a backslash continues on the next line.
_UNSAFE_RE = re.compile(r"[\s\x00-\x1f\x7f]")

TRANSPORTS = ("sock", "rdma", "ugni", "fabric")  # the zap libraries 4.5.3 builds
AUTH_PLUGINS = ("none", "ovis", "munge", "naive")  # the ldms_auth libraries 4.5.3 builds
TIME_MAX_US = 2 ** 63 - 1  # ldmsd keeps times as a C long
DEFAULT_SAMPLE_INTERVAL_US = 1000000  # what ldmsd starts a sampler at without an interval


def check_value(value, path: str) -> str:
    """A value ldmsd reads as one attribute value: no whitespace, no control characters."""
    text = value if isinstance(value, str) else str(value)
    bad = _UNSAFE_RE.search(text)
    if bad:
        raise ClusterError(path, "%r holds %s, which ldmsd would split or cut the line at"
                           % (text, "a space" if bad.group() == " " else "a control character %r" % bad.group()))
    if text.endswith("\\"):
        raise ClusterError(path, "%r ends in a backslash, which joins the next ldmsd config line" % text)
    return text


def check_key(value, path: str) -> str:
    """An attribute name or bare keyword of an ldmsd line."""
    text = check_value(value, path)
    if not text or "=" in text or text.startswith("#"):
        raise ClusterError(path, "%r is not an ldmsd attribute name (empty, holds '=' or starts a '#' comment)" % text)
    return text


def check_name(value, path: str, what: str = "name") -> str:
    """A daemon, endpoint, plugin, store, updater or listener name.

    Names become file names, inventory host names and ldmsd object names.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ClusterError(path, "expected a %s, got %r" % (what, value))
    text = str(value)
    if len(text) > NAME_MAX:
        raise ClusterError(path, "%s %r... is %d characters long (at most %d)" % (what, text[:20], len(text), NAME_MAX))
    if not _NAME_RE.match(text) or ".." in text:
        raise ClusterError(path, "bad %s %r: use letters, digits and _ . : @ + - (not first, no '..')" % (what, text))
    return text


def check_host(value, path: str) -> str:
    """A host name or address, or a whole ${VAR}."""
    text = check_value(value, path)
    if is_env_ref(text):
        return text
    if len(text) > HOST_MAX or not _HOST_RE.match(text):
        raise ClusterError(path, "bad host %r: use a host name or an IP address" % text)
    return text


def parse_port(value, path: str):
    """A TCP port 1-65535, or a whole ${VAR}."""
    port = parse_int(value, path)
    if isinstance(port, int) and not 0 < port < 65536:
        raise ClusterError(path, "port %d is out of range (1-65535)" % port)
    return port


def parse_xprt(value, path: str) -> str:
    text = check_value(value, path)
    if text not in TRANSPORTS and not is_env_ref(text):
        raise ClusterError(path, "unknown transport %r (ldmsd 4.5.3 has %s)" % (text, ", ".join(TRANSPORTS)))
    return text


def parse_auth_plugin(value, path: str) -> str:
    text = check_value(value, path)
    if text not in AUTH_PLUGINS:
        raise ClusterError(path, "unknown authentication plugin %r (ldmsd 4.5.3 has %s)" % (text, ", ".join(AUTH_PLUGINS)))
    return text


def parse_interval_us(value, path: str):
    """A time that must be positive (intervals, reconnect, flush)."""
    micros = parse_time_us(value, path)
    if isinstance(micros, int) and micros <= 0:
        raise ClusterError(path, "must be more than 0, got %r" % (value,))
    return micros


def check_offset(interval, offset, path: str):
    """ldmsd refuses an offset whose absolute value is more than half the interval."""
    if isinstance(interval, int) and isinstance(offset, int) and abs(offset) * 2 > interval:
        raise ClusterError(path, "offset %d us is more than half the interval (%d us)" % (offset, interval))
