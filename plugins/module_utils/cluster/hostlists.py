# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostlist expansion and pairing, in the order written.

Expansion is python-hostlist's. Pairing never sorts: the k-th name goes with
the k-th host, so ``sampler-[1-10]`` pairs ``sampler-10`` with ``nid00010``.
"""

from __future__ import annotations

import functools
import re
from typing import List, Sequence, Tuple

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError

try:
    import hostlist as _hostlist
except ImportError:  # pragma: no cover - reported when first used
    _hostlist = None

HOSTLIST_MISSING = "the python-hostlist package is required (pip install python-hostlist)"


def _require_hostlist():
    if _hostlist is None:
        raise ClusterError("", HOSTLIST_MISSING)
    return _hostlist


# Limits on what one file can make us expand, checked before expanding.
FIELD_NAMES_MAX = 1000000  # names one hostlist field may expand to
RANGES_PER_NAME_MAX = 16  # bracket ranges in one name (python-hostlist recurses per range)


class HostlistTooLarge(ClusterError):
    """A hostlist over the limits: refused whatever the field means."""


_RANGE_RE = re.compile(r"\[([^\]]*)\]")


def count(text: str, path: str) -> int:
    """How many names a hostlist string expands to (duplicates counted), without expanding it."""
    total = 0
    depth = 0
    part_start = 0
    for index, char in enumerate(text + ","):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            total += _count_part(text[part_start:index], path)
            part_start = index + 1
            if total > FIELD_NAMES_MAX:
                raise HostlistTooLarge(path, "hostlist %s... expands to more than %d names" % (text[:40], FIELD_NAMES_MAX))
    return total


def _count_part(part: str, path: str) -> int:
    ranges = _RANGE_RE.findall(part)
    if len(ranges) > RANGES_PER_NAME_MAX:
        raise HostlistTooLarge(path, "hostlist part %s... has %d ranges (at most %d)" % (part[:40], len(ranges), RANGES_PER_NAME_MAX))
    size = 1
    for rangelist in ranges:
        width = 0
        for item in rangelist.split(","):
            low, _dash, high = item.partition("-")
            if low.isdigit() and high.isdigit():
                width += max(int(high) - int(low) + 1, 1)
            else:
                width += 1  # malformed: python-hostlist reports it
        size *= width
        if size > FIELD_NAMES_MAX:
            raise HostlistTooLarge(path, "hostlist %s... expands to more than %d names" % (part[:40], FIELD_NAMES_MAX))
    return size


def expand(value, path: str) -> List[str]:
    """Expand a hostlist (a string, an int, or a list of those) in written order.

    Duplicates are dropped, keeping the first, as python-hostlist does. The
    size is counted first: a field of more than FIELD_NAMES_MAX names is
    refused before any name is made.
    """
    module = _require_hostlist()
    if isinstance(value, bool) or value is None:
        raise ClusterError(path, "expected a hostlist such as node-[1-4], got %r" % (value,))
    if isinstance(value, int):
        return [str(int(value))]
    if isinstance(value, (list, tuple)):
        if not value:
            raise ClusterError(path, "empty hostlist")
        items = []
        size = 0
        for index, item in enumerate(value):
            item_path = "%s[%d]" % (path, index)
            if isinstance(item, (list, tuple, dict)):
                raise ClusterError(item_path, "a hostlist list holds strings, not %s" % ("lists" if isinstance(item, (list, tuple)) else "mappings"))
            if isinstance(item, str):
                size += count(item.strip(), item_path)
                if size > FIELD_NAMES_MAX:
                    raise HostlistTooLarge(path, "the hostlists expand to more than %d names" % FIELD_NAMES_MAX)
            items.append((item, item_path))
        names: List[str] = []
        seen = set()
        for item, item_path in items:
            for name in expand(item, item_path):
                if name not in seen:
                    seen.add(name)
                    names.append(name)
        return names
    if not isinstance(value, str):
        raise ClusterError(path, "expected a hostlist string, got %s" % type(value).__name__)
    text = value.strip()
    if not text:
        raise ClusterError(path, "empty hostlist")
    count(text, path)
    try:
        return list(_expand_text(text))
    except module.BadHostlist as exc:
        raise ClusterError(path, "bad hostlist %r: %s" % (value, exc))


@functools.lru_cache(maxsize=256)
def _expand_text(text: str) -> Tuple[str, ...]:
    # A cluster file names the same hostlists in several sections (daemons,
    # endpoints, samplers, peers); at 30,000 names each expansion costs ~50 ms.
    return tuple(name.strip() for name in _hostlist.expand_hostlist(text))


# A value with any of these is a regular expression, never a hostlist.
_REGEX_ONLY_RE = re.compile(r"[*+?(){}|^$\\]")
_ERE_SPECIAL_RE = re.compile(r"([.\[\]()*+?{}|^$\\])")


def ere_escape(name: str) -> str:
    """``name`` as a POSIX extended regex (what ldmsd's regcomp takes) matching it literally."""
    return _ERE_SPECIAL_RE.sub(r"\\\1", name)


def names_or_regex(value: str, path: str) -> List[str]:
    """Exact-name regexes (``^name$``) for a hostlist of several names; a regex as written.

    LDMS's generator expands a hostlist of more than one name into one entry
    per name; one name, or anything that is not a hostlist, is a regex.
    """
    if _REGEX_ONLY_RE.search(value) or ("[" not in value and "," not in value):
        return [value]
    try:
        names = expand(value, path)
    except HostlistTooLarge:
        raise
    except ClusterError:
        return [value]  # not a hostlist, e.g. node-[a-z]
    if len(names) < 2:
        return [value]
    return ["^%s$" % ere_escape(name) for name in names]


def compress(names: Sequence[str]) -> str:
    """The shortest hostlist for these names (python-hostlist's collect)."""
    return _require_hostlist().collect_hostlist(list(names))


def broadcast(values: List[str], count: int, path: str, what: str, for_what: str) -> List[str]:
    """Stretch ``values`` to ``count`` items: equal lengths pair, one value repeats.

    Any other mismatch is an error naming both counts, e.g.
    ``daemons[1].endpoints[0].ports: 3 ports for 10 endpoint names``.
    """
    if len(values) == count:
        return list(values)
    if len(values) == 1:
        return list(values) * count
    raise ClusterError(path, "%d %s for %d %s" % (len(values), what, count, for_what))


def per_owner(values: List[str], owners: int, path: str, what: str, owner_what: str) -> List[List[str]]:
    """Split ``values`` into ``owners`` consecutive equal blocks (N×k gives k each)."""
    if owners == 0:
        return []
    if len(values) % owners != 0 or not values:
        raise ClusterError(
            path,
            "%d %s for %d %s (give one per %s, or the same number for each)"
            % (len(values), what, owners, owner_what, owner_what.rstrip("s")),
        )
    size = len(values) // owners
    return [values[index * size:(index + 1) * size] for index in range(owners)]
