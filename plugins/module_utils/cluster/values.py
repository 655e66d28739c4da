# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scalar values of the cluster file: times, permissions, booleans.

Every parser takes the YAML path of the value so that a bad value fails with
one message naming where it is.
"""

from __future__ import annotations

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
        return value
    if isinstance(value, float):
        if value != int(value):
            raise ClusterError(path, "%r is a fraction of a microsecond; write a unit, e.g. 1.5s" % value)
        return int(value)
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
    if micros != micros.to_integral_value():
        raise ClusterError(path, "%r is not a whole number of microseconds" % value)
    return int(micros)


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
        number = value
    elif isinstance(value, str) and is_env_ref(value):
        return value
    elif isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        number = int(value)
    else:
        raise ClusterError(path, "expected an integer, got %r" % (value,))
    if minimum is not None and number < minimum:
        raise ClusterError(path, "must be at least %d, got %d" % (minimum, number))
    return number
