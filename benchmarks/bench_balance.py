"""Balancer benchmark: speed at scale, and producers moved by a failover.

    python3 benchmarks/bench_balance.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection_path  # noqa: E402

_collection_path.activate()

from ansible_collections.hpc.ldms.plugins.module_utils.balance.sticky import balance, maestro_blocks  # noqa: E402


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def main():
    producers = ["node-%d" % i for i in range(1, 100001)]
    aggregators = ["agg-%d" % i for i in range(1, 1001)]
    first, seconds = timed(balance, producers, aggregators)
    print("initial: 100,000 producers over 1,000 aggregators: %.3f s (target <= 1 s)" % seconds)
    status = {name: name != "agg-500" for name in aggregators}
    _failover, seconds = timed(balance, producers, status, previous=first.assignment)
    print("sticky failover at that scale (1 of 1,000 dies): %.3f s" % seconds)

    producers = ["node-%d" % i for i in range(1, 10001)]
    aggregators = ["agg-%d" % i for i in range(1, 33)]
    first = balance(producers, aggregators)
    dead = "agg-7"
    orphans = sum(1 for aggregator in first.assignment.values() if aggregator == dead)
    survivors = [name for name in aggregators if name != dead]
    failover = balance(producers, {name: name != dead for name in aggregators}, previous=first.assignment)
    before, after = maestro_blocks(producers, aggregators), maestro_blocks(producers, survivors)
    maestro_moved = sum(1 for name in producers if before[name] != after[name])
    print("failover of 1 of 32 aggregators, 10,000 producers: %d orphans; hpc.ldms moved %d; Maestro's re-cut moves %d (%.1fx)"
          % (orphans, len(failover.moved), maestro_moved, maestro_moved / len(failover.moved)))
    back = balance(producers, aggregators, previous=failover.assignment)
    maestro_back = sum(1 for name in producers if after[name] != before[name])
    print("the aggregator returns: hpc.ldms moved %d back; Maestro moves %d" % (len(back.moved), maestro_back))
    print("loads after return: min %d, max %d" % (min(back.loads.values()), max(back.loads.values())))


if __name__ == "__main__":
    main()
