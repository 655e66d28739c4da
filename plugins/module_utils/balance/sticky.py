# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sticky, minimal-movement assignment of producers to aggregators.

Order used everywhere (so results are deterministic):

* producers are taken in *natural* order: digit runs compare as numbers,
  so ``node-2`` comes before ``node-10``;
* aggregators are taken in the order given.

Without a previous assignment, producers are cut into contiguous blocks in
natural order over the alive aggregators, the first ``P mod N`` taking one
extra: the same blocks a static generator cuts. With weights, producers are
placed largest first (ties in natural order) on the least loaded aggregator
(LPT).

With a previous assignment, every producer whose aggregator is still listed
and alive stays. Orphans (their aggregator is dead or gone) and new producers
go, in natural order, to the least loaded alive aggregator (ties by
aggregator order). Then, only if loads differ by more than one (more than the
largest weight when weighted), the naturally-last producers of the most
loaded aggregator move to the least loaded one, one at a time: the fewest
moves that restore evenness.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key comparing digit runs as numbers: ``node-2`` < ``node-10``."""
    parts = _DIGITS.split(name)
    return tuple((0, int(part), part) if index % 2 else (1, 0, part) for index, part in enumerate(parts))


def natural_sorted(names: Iterable[str]) -> List[str]:
    return sorted(names, key=natural_key)


@dataclass
class BalanceResult:
    assignment: Dict[str, str]
    moved: List[dict] = field(default_factory=list)
    loads: Dict[str, float] = field(default_factory=dict)
    failsafe: bool = False
    reason: Optional[str] = None

    def as_dict(self) -> dict:
        return {"assignment": self.assignment, "moved": self.moved, "loads": self.loads,
                "failsafe": self.failsafe, "reason": self.reason}


AggregatorSpec = Union[Iterable[str], Mapping[str, bool]]


def _aggregator_status(aggregators: AggregatorSpec) -> List[Tuple[str, bool]]:
    if isinstance(aggregators, Mapping):
        return [(str(name), bool(alive)) for name, alive in aggregators.items()]
    if isinstance(aggregators, (str, bytes)):
        raise ValueError("aggregators must be a list of names or a mapping name -> alive, got a string")
    result = []
    for item in aggregators:
        if isinstance(item, Mapping):
            result.append((str(item["name"]), bool(item.get("alive", True))))
        else:
            result.append((str(item), True))
    return result


def _weights_of(producers: List[str], weights: Optional[Mapping[str, float]]) -> Optional[Dict[str, float]]:
    if weights is None:
        return None
    result = {}
    for name in producers:
        if name not in weights:
            raise ValueError("weights: producer %r has no weight" % name)
        value = float(weights[name])
        if value <= 0:
            raise ValueError("weights: producer %r has weight %r; weights must be positive" % (name, weights[name]))
        result[name] = value
    return result


def _blocks(producers: List[str], alive: List[str]) -> Dict[str, str]:
    quotient, remainder = divmod(len(producers), len(alive))
    assignment, start = {}, 0
    for index, aggregator in enumerate(alive):
        size = quotient + (1 if index < remainder else 0)
        for name in producers[start:start + size]:
            assignment[name] = aggregator
        start += size
    return assignment


def balance(producers: Iterable[str], aggregators: AggregatorSpec,
            previous: Optional[Mapping[str, str]] = None,
            weights: Optional[Mapping[str, float]] = None) -> BalanceResult:
    """Assign every producer to one alive aggregator (see the module docstring)."""
    ordered = natural_sorted(dict.fromkeys(str(p) for p in producers))
    status = _aggregator_status(aggregators)
    alive = [name for name, ok in status if ok]
    sizes = _weights_of(ordered, weights)
    previous = dict(previous or {})
    if not alive:
        kept = {name: previous[name] for name in ordered if name in previous}
        return BalanceResult(assignment=kept, loads={}, failsafe=True,
                             reason="no alive aggregator among %s: the previous assignment is kept"
                             % (", ".join(name for name, _alive in status) or "(none)"))
    rank = {name: index for index, name in enumerate(alive)}
    weight = (lambda name: sizes[name]) if sizes else (lambda name: 1.0)

    if not previous:
        if sizes is None:
            assignment = _blocks(ordered, alive)
        else:
            heap = [(0.0, rank[name], name) for name in alive]
            assignment = {}
            for name in sorted(ordered, key=lambda n: (-sizes[n], natural_key(n))):
                load, order, aggregator = heapq.heappop(heap)
                assignment[name] = aggregator
                heapq.heappush(heap, (load + sizes[name], order, aggregator))
        return _result(ordered, assignment, alive, weight, previous)

    members: Dict[str, List[str]] = {name: [] for name in alive}
    homeless = []
    for name in ordered:
        home = previous.get(name)
        if home in members:
            members[home].append(name)
        else:
            homeless.append(name)
    loads = {name: sum(weight(p) for p in members[name]) for name in alive}
    heap = [(loads[name], rank[name], name) for name in alive]
    heapq.heapify(heap)
    placement_order = homeless if sizes is None else sorted(homeless, key=lambda n: (-sizes[n], natural_key(n)))
    for name in placement_order:
        load, order, aggregator = heapq.heappop(heap)
        members[aggregator].append(name)
        loads[aggregator] = load + weight(name)
        heapq.heappush(heap, (loads[aggregator], order, aggregator))
    _even_out(members, loads, rank, weight, sizes)
    assignment = {name: aggregator for aggregator, names in members.items() for name in names}
    return _result(ordered, assignment, alive, weight, previous)


def _even_out(members, loads, rank, weight, sizes):
    """Move the fewest producers from the most to the least loaded aggregator."""
    tolerance = max((weight(p) for names in members.values() for p in names), default=1.0) if sizes else 1.0
    for aggregator in members:
        members[aggregator].sort(key=natural_key)
    # Max-heap and min-heap of (load, order); stale entries are skipped.
    high = [(-loads[a], rank[a], a) for a in members]
    low = [(loads[a], rank[a], a) for a in members]
    heapq.heapify(high)
    heapq.heapify(low)
    while high and low:
        top_load, _order, top = high[0]
        if -top_load != loads[top]:
            heapq.heappop(high)
            continue
        bottom_load, _order, bottom = low[0]
        if bottom_load != loads[bottom]:
            heapq.heappop(low)
            continue
        if loads[top] - loads[bottom] <= tolerance or not members[top]:
            break
        candidate = members[top][-1]
        if sizes and loads[top] - weight(candidate) < loads[bottom] + weight(candidate) - tolerance:
            break  # moving it would only swap the imbalance
        members[top].pop()
        members[bottom].append(candidate)
        loads[top] -= weight(candidate)
        loads[bottom] += weight(candidate)
        heapq.heappush(high, (-loads[top], rank[top], top))
        heapq.heappush(high, (-loads[bottom], rank[bottom], bottom))
        heapq.heappush(low, (loads[top], rank[top], top))
        heapq.heappush(low, (loads[bottom], rank[bottom], bottom))


def _result(ordered, assignment, alive, weight, previous) -> BalanceResult:
    loads = {name: 0 for name in alive}
    for name, aggregator in assignment.items():
        loads[aggregator] += weight(name)
    if all(float(value).is_integer() for value in loads.values()):
        loads = {name: int(value) for name, value in loads.items()}
    moved = [{"producer": name, "from": previous[name], "to": assignment[name]}
             for name in ordered if name in previous and previous[name] != assignment[name]]
    return BalanceResult(assignment={name: assignment[name] for name in ordered}, moved=moved, loads=loads)


def maestro_blocks(producers: Iterable[str], alive_aggregators: List[str]) -> Dict[str, str]:
    """Maestro's scheme, for comparison: string-sorted contiguous blocks over the survivors.

    Kept here, beside the ``_blocks`` it shares with the initial cut: a test and two benchmarks compare with it.
    """
    return _blocks(sorted(str(p) for p in producers), list(alive_aggregators)) if alive_aggregators else {}
