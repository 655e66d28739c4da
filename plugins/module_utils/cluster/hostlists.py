# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostlist expansion and pairing, in the order written.

Expansion is python-hostlist's. Pairing never sorts: the k-th name goes with
the k-th host, so ``sampler-[1-10]`` pairs ``sampler-10`` with ``nid00010``.
"""

from __future__ import annotations

import functools
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


def expand(value, path: str) -> List[str]:
    """Expand a hostlist (a string, an int, or a list of those) in written order.

    Duplicates are dropped, keeping the first, as python-hostlist does.
    """
    module = _require_hostlist()
    if isinstance(value, bool) or value is None:
        raise ClusterError(path, "expected a hostlist such as node-[1-4], got %r" % (value,))
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, (list, tuple)):
        names: List[str] = []
        seen = set()
        for index, item in enumerate(value):
            for name in expand(item, "%s[%d]" % (path, index)):
                if name not in seen:
                    seen.add(name)
                    names.append(name)
        return names
    if not isinstance(value, str):
        raise ClusterError(path, "expected a hostlist string, got %s" % type(value).__name__)
    text = value.strip()
    if not text:
        raise ClusterError(path, "empty hostlist")
    try:
        return list(_expand_text(text))
    except module.BadHostlist as exc:
        raise ClusterError(path, "bad hostlist %r: %s" % (value, exc))


@functools.lru_cache(maxsize=256)
def _expand_text(text: str) -> Tuple[str, ...]:
    # A cluster file names the same hostlists in several sections (daemons,
    # endpoints, samplers, peers); at 30,000 names each expansion costs ~50 ms.
    return tuple(name.strip() for name in _hostlist.expand_hostlist(text))


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
