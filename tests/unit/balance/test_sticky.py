from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.balance.sticky import (
    balance,
    maestro_blocks,
    natural_key,
    natural_sorted,
)

producers_st = st.lists(st.from_regex(r"[a-c]-[0-9]{1,3}", fullmatch=True), min_size=0, max_size=60, unique=True)
aggregators_st = st.lists(st.from_regex(r"agg-[0-9]{1,2}", fullmatch=True), min_size=1, max_size=8, unique=True)


def spread(loads):
    values = list(loads.values())
    return max(values) - min(values) if values else 0


def test_natural_order():
    assert natural_sorted(["node-10", "node-2", "node-1"]) == ["node-1", "node-2", "node-10"]
    assert natural_key("a9") < natural_key("a10")


def test_initial_assignment_is_contiguous_blocks_in_natural_order():
    result = balance(["n10", "n2", "n1", "n3", "n4"], ["a", "b"])
    assert result.assignment == {"n1": "a", "n2": "a", "n3": "a", "n4": "b", "n10": "b"}
    assert list(result.assignment) == ["n1", "n2", "n3", "n4", "n10"]
    assert result.loads == {"a": 3, "b": 2} and result.moved == []


@settings(max_examples=200, deadline=None)
@given(producers_st, aggregators_st, st.data())
def test_guarantees_hold_for_any_input(producers, aggregators, data):
    dead = data.draw(st.sets(st.sampled_from(aggregators), max_size=len(aggregators) - 1))
    status = {name: name not in dead for name in aggregators}
    first = balance(producers, aggregators)
    # 1. each producer on exactly one alive aggregator; 2. loads within one
    assert sorted(first.assignment) == sorted(producers)
    assert spread(first.loads) <= 1
    second = balance(producers, status, previous=first.assignment)
    assert set(second.assignment) == set(producers)
    assert all(status[agg] for agg in second.assignment.values())
    assert spread(second.loads) <= 1
    # 3. producers on surviving aggregators stay, unless evenness needs them
    orphans = {p for p, agg in first.assignment.items() if agg in dead}
    moved = {m["producer"] for m in second.moved}
    assert orphans <= moved
    survivors_moved = moved - orphans
    alive_count = len(aggregators) - len(dead)
    assert len(survivors_moved) <= len(producers) // alive_count + 1
    # deterministic
    assert balance(producers, status, previous=first.assignment) == second


def test_failover_moves_exactly_the_orphans():
    producers = ["node-%d" % i for i in range(1, 10001)]
    aggregators = ["agg-%d" % i for i in range(1, 33)]
    first = balance(producers, aggregators)
    status = {name: name != "agg-7" for name in aggregators}
    second = balance(producers, status, previous=first.assignment)
    orphans = [p for p, agg in first.assignment.items() if agg == "agg-7"]
    assert len(orphans) in (312, 313)
    assert sorted(m["producer"] for m in second.moved) == sorted(orphans)
    assert spread(second.loads) <= 1
    # Maestro's re-cut moves far more
    before = maestro_blocks(producers, aggregators)
    after = maestro_blocks(producers, [a for a in aggregators if a != "agg-7"])
    assert sum(before[p] != after[p] for p in producers) > 10 * len(orphans)


def test_return_and_added_aggregator_move_about_p_over_n():
    producers = ["p%d" % i for i in range(1000)]
    aggregators = ["a%d" % i for i in range(9)]
    first = balance(producers, aggregators)
    added = balance(producers, aggregators + ["a9"], previous=first.assignment)
    assert len(added.moved) == 100 and all(m["to"] == "a9" for m in added.moved)
    assert spread(added.loads) <= 1
    down = balance(producers, {**{a: True for a in aggregators}, "a9": False}, previous=added.assignment)
    back = balance(producers, aggregators + ["a9"], previous=down.assignment)
    assert len(back.moved) == 100 and spread(back.loads) <= 1


def test_removed_producers_drop_and_new_ones_fill_the_least_loaded():
    first = balance(["p1", "p2", "p3", "p4"], ["a", "b"])
    second = balance(["p1", "p2", "p3", "p5"], ["a", "b"], previous=first.assignment)
    assert second.assignment == {"p1": "a", "p2": "a", "p3": "b", "p5": "b"} and second.moved == []


def test_weighted_lpt_bounded_by_largest_item():
    weights = {"p%d" % i: w for i, w in enumerate([9, 7, 6, 5, 4, 3, 2, 2, 1, 1])}
    result = balance(weights, ["a", "b", "c"], weights=weights)
    assert spread(result.loads) <= max(weights.values())
    assert sum(result.loads.values()) == sum(weights.values())
    again = balance(weights, {"a": True, "b": False, "c": True}, previous=result.assignment, weights=weights)
    assert spread(again.loads) <= max(weights.values())
    assert {m["producer"] for m in again.moved} >= {p for p, a in result.assignment.items() if a == "b"}


def test_missing_weight_is_an_error():
    with pytest.raises(ValueError, match="producer 'p2' has no weight"):
        balance(["p1", "p2"], ["a"], weights={"p1": 1})


def test_failsafe_keeps_previous_assignment():
    previous = {"p1": "a", "p2": "b"}
    result = balance(["p1", "p2", "p3"], {"a": False, "b": False}, previous=previous)
    assert result.failsafe and result.assignment == previous
    assert "no alive aggregator among a, b" in result.reason
