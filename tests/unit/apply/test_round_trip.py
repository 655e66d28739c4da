"""Property: whatever valid items are applied, what the daemon then reports plans no command.

Every reported value must read back as the value that was sent (an explicit
auth domain named none or DEFAULT included); only what ldmsd itself reports
for an omitted attribute counts as its default. The daemon is the
simulator's in-process one, whose replies follow the 4.5.3 captures.
"""

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.hpc.ldms.plugins.module_utils.apply.resources import (
    apply_commands,
    normalize_config,
    plan_for,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

sys.path.insert(0, os.path.dirname(__file__))
from test_states import InProcessClient  # noqa: E402

NAMES = st.lists(st.sampled_from(["n1", "n2", "node-3", "l1.x", "m_4"]), min_size=1, max_size=4, unique=True)
TIMES = st.sampled_from(["1s", "500ms", "20s", "2000000", "1m", "250ms"])
AUTH = st.sampled_from([None, "none", "DEFAULT", "munge", "ovis-site"])
HOSTS = st.sampled_from(["127.0.0.1", "node-1", "10.1.2.3", "agg-1.cluster"])


def _endpoint(name, draw_kind):
    return st.fixed_dictionaries(
        {"name": st.just(name), "host": HOSTS, "port": st.integers(1, 65535), "reconnect": TIMES},
        optional={"auth": AUTH, "rail": st.integers(1, 4), "xprt": st.sampled_from(["sock", "rdma"]),
                  **({"type": st.sampled_from(["active", "passive"])} if draw_kind == "producers" else {})})


def _updater(name):
    return st.fixed_dictionaries(
        {"name": st.just(name), "interval": TIMES},
        optional={"offset": st.sampled_from(["100ms", "0", "10ms"]),
                  "mode": st.sampled_from(["pull", "push", "onchange", "auto"]),
                  "producers": st.lists(st.sampled_from(["^n", ".*", "^m_4$"]), min_size=1, max_size=2, unique=True),
                  "sets": st.lists(st.fixed_dictionaries({"regex": st.sampled_from(["meminfo", "^vm"]),
                                                          "field": st.sampled_from(["schema", "inst"])}),
                                   max_size=2, unique_by=lambda m: (m["regex"], m["field"]))})


def _sampler(name):
    return st.fixed_dictionaries(
        {"name": st.just(name), "plugin": st.sampled_from(["meminfo", "vmstat", "loadavg"]),
         "config": st.just({"producer": "agg", "instance": "agg/%s" % name})},
        optional={"interval": TIMES, "offset": st.sampled_from(["100ms", "10ms"])})


def _policy(name):
    return st.fixed_dictionaries(
        {"name": st.just(name), "plugin": st.just("csv"), "container": st.sampled_from(["c", "store"]),
         "schema": st.sampled_from(["meminfo", "vmstat"]),
         "plugin_config": st.just({"plugin": "store_csv", "path": "/tmp/hpc-ldms-round-trip"})},
        optional={"flush": st.sampled_from(["1s", "10s"]),
                  "producers": st.lists(st.sampled_from(["^n", "^m"]), max_size=2, unique=True),
                  "metrics": st.lists(st.sampled_from(["MemFree", "Active"]), max_size=2, unique=True)})


def _listener(name):
    return st.fixed_dictionaries(
        {"name": st.just(name)},
        optional={"regex": st.sampled_from(["^node-", "^login"]), "ip": st.sampled_from(["10.0.0.0/8"]),
                  "reconnect": TIMES})


STRATEGIES = {
    "producers": lambda name: _endpoint(name, "producers"),
    "advertisers": lambda name: _endpoint(name, "advertisers"),
    "updaters": _updater,
    "samplers": _sampler,
    "aggregator_plugins": _sampler,
    "storage_policies": _policy,
    "prdcr_listeners": _listener,
}


@st.composite
def kind_and_items(draw):
    kind = draw(st.sampled_from(sorted(STRATEGIES)))
    if kind in ("samplers", "aggregator_plugins"):
        names = draw(st.lists(st.sampled_from(["meminfo", "vmstat", "loadavg", "mem2"]), min_size=1, max_size=3,
                              unique=True))
    else:
        names = draw(NAMES)
    return kind, [draw(STRATEGIES[kind](name)) for name in names]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind_and_items())
def test_applied_items_round_trip_with_no_command(case):
    kind, items = case
    client = InProcessClient()
    wanted = normalize_config(kind, items)
    # Domains are added first, as the reconcile does on a bare daemon.
    for domain in sorted({item["auth"] for item in wanted if item.get("auth")} - {"DEFAULT"}):
        apply_commands(client, [Command.make("auth_add", ("name", domain), ("plugin", "none"))])
    apply_commands(client, plan_for(client, kind, "merged", wanted).commands)
    for state in ("merged", "replaced"):
        again = plan_for(client, kind, state, wanted)
        assert [c.text() for c in again.commands] == [], (kind, state, items)
    gathered = plan_for(client, kind, "gathered", []).before
    assert [c.text() for c in plan_for(client, kind, "overridden", gathered, scope=".*").commands] == []


# -- every attribute of every kind, read from the kinds registry ---------------

# A valid value of each attribute, other than what ldmsd fills in: a kind or an
# attribute added to the registry fails test_every_attribute_has_an_example
# until it has one here.
EXAMPLES = {
    "producers": {"name": "n1", "host": "10.1.2.3", "port": 10002, "xprt": "rdma", "type": "passive",
                  "reconnect": "2s", "perm": "0640", "auth": "munge", "rail": 2, "quota": 4096, "rx_rate": 1000,
                  "cache_ip": True},
    "advertisers": {"name": "a1", "host": "agg-1", "xprt": "rdma", "port": 10401, "reconnect": "2s", "auth": "munge",
                    "perm": "0640", "rail": 2, "quota": 4096, "rx_rate": 1000},
    "updaters": {"name": "u1", "interval": "2s", "offset": "100ms", "mode": "push", "perm": "0640",
                 "producers": ["^n"], "sets": [{"regex": "meminfo", "field": "schema"}]},
    "storage_policies": {"name": "p1", "plugin": "csv", "container": "c", "schema": "meminfo", "regex": "mem.*",
                         "decomposition": "/etc/decomp.json", "perm": "0640", "flush": "10s", "producers": ["^n"],
                         "metrics": ["MemFree"], "plugin_config": {"plugin": "store_csv", "path": "/tmp/rt"}},
    "samplers": {"name": "mem2", "plugin": "meminfo", "interval": "2s", "offset": "100ms",
                 "config": {"producer": "n1", "instance": "n1/mem2"}},
    "aggregator_plugins": {"name": "mem2", "plugin": "meminfo", "interval": "2s", "offset": "100ms",
                           "config": {"producer": "n1", "instance": "n1/mem2"}},
    "prdcr_listeners": {"name": "l1", "regex": "^node-", "ip": "10.0.0.0/8", "disable_start": True, "quota": 4096,
                        "rx_rate": 1000, "type": "active", "advertiser_xprt": "rdma", "advertiser_port": 10002,
                        "advertiser_auth": "munge", "rail": 2, "reconnect": "2s"},
    "subscriptions": {"stream": "s1", "message_tag": "t1", "rx_rate": 1000, "regex": "^n"},
}
# Attributes every item of the kind gets here besides the required ones: a
# sampler needs a plugin that exists and sets that name it, a store its library.
ALWAYS = {"samplers": ("plugin", "config"), "aggregator_plugins": ("plugin", "config"),
          "storage_policies": ("schema", "plugin_config"), "subscriptions": ("stream",)}
# Attributes that replace one of ALWAYS, and what they need with them.
INSTEAD = {("subscriptions", "message_tag"): "stream", ("storage_policies", "regex"): "schema"}
NEEDS = {("storage_policies", "regex"): ("decomposition",), ("aggregator_plugins", "offset"): ("interval",)}
# Reported differently from how they are given; compared as ldmsd reports them (see the kind's same()).
READ_BACK_AS_REPORTED = {("updaters", "producers"), ("storage_policies", "plugin")}


def _items_with_each_attribute(kind, spec):
    """Per attribute, a minimal item (required attributes and ALWAYS) with that attribute."""
    example = EXAMPLES[kind]
    base = {attr.name: example[attr.name] for attr in spec.attrs if attr.required or attr.name in ALWAYS.get(kind, ())}
    for attr in spec.attrs:
        item = dict(base, **{attr.name: example[attr.name]})
        item.pop(INSTEAD.get((kind, attr.name)), None)
        for needed in NEEDS.get((kind, attr.name), ()):
            item[needed] = example[needed]
        yield attr, item


def test_every_attribute_has_an_example():
    assert sorted(EXAMPLES) == sorted(KINDS)
    for kind, spec in KINDS.items():
        assert sorted(EXAMPLES[kind]) == sorted(attr.name for attr in spec.attrs), kind


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_attribute_reaches_the_command_and_reads_back(kind):
    """normalize -> create commands -> the daemon -> its status -> the same item: no command."""
    spec = KINDS[kind]
    for attr, item in _items_with_each_attribute(kind, spec):
        wanted = spec.normalize(item, "config[0]")
        text = " ".join(command.text() for command in spec.create_commands([wanted]))
        if attr.written:
            assert " %s=" % attr.name in text, (kind, attr.name, text)
        if kind == "subscriptions":
            continue  # 4.5.3 shows no subscription until a message arrives
        client = InProcessClient()
        if wanted.get("auth") not in (None, "DEFAULT"):
            apply_commands(client, [Command.make("auth_add", ("name", wanted["auth"]), ("plugin", "none"))])
        apply_commands(client, plan_for(client, kind, "merged", [wanted]).commands)
        for state in ("merged", "replaced"):
            assert [c.text() for c in plan_for(client, kind, state, [wanted]).commands] == [], (kind, attr.name, state)
        gathered = plan_for(client, kind, "gathered", []).before
        if attr.reported and (kind, attr.name) not in READ_BACK_AS_REPORTED:
            assert [g.get(attr.name) for g in gathered] == [wanted[attr.name]], (kind, attr.name, gathered)
