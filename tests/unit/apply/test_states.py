"""Every resource kind in every state: the exact commands, then a second run that changes nothing.

The daemon is the simulator's in-process ``Daemon``, reached through the real client (its replies follow the
4.5.3 captures, see tests/simulator/test_simulator.py); commands are applied
to it, so the second run plans from what the first one really did.
"""

import os
import sys

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.apply.resources import (
    apply_commands,
    normalize_config,
    plan_for,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "simulator"))
import in_process  # noqa: E402


class InProcessClient(in_process.InProcessClient):
    """The real client, over a simulated daemon in this process."""

    def run(self, kind, state, config, scope=None):
        plan = plan_for(self, kind, state, normalize_config(kind, config), scope=scope)
        apply_commands(self, plan.commands)
        return [command.text() for command in plan.commands]


PRODUCER = {"name": "n1", "host": "127.0.0.1", "port": 1, "reconnect": "20s"}
UPDATER = {"name": "u1", "interval": "1s", "offset": "100ms", "producers": ["^n"]}
SAMPLER = {"name": "meminfo", "interval": "1s", "config": {"producer": "n1", "instance": "n1/meminfo"}}
POLICY = {"name": "p1", "plugin": "csv", "container": "c", "schema": "meminfo", "producers": ["^n"],
          "plugin_config": {"plugin": "store_csv", "path": "/tmp/csv"}}
ADVERTISER = {"name": "a1", "host": "127.0.0.1", "port": 1, "reconnect": "2s"}
LISTENER = {"name": "l1", "regex": "^node-", "reconnect": "2s"}

# kind -> (item, its create commands, a changed item, the commands of that change)
CASES = {
    "producers": (PRODUCER,
                  ["prdcr_add name=n1 host=127.0.0.1 port=1 xprt=sock type=active reconnect=20000000",
                   "prdcr_start name=n1"],
                  None, None),
    "updaters": (UPDATER,
                 ["updtr_add name=u1 interval=1000000 offset=100000", "updtr_prdcr_add name=u1 regex=^n",
                  "updtr_start name=u1"],
                 dict(UPDATER, interval="2s"),
                 ["updtr_stop name=u1", "updtr_del name=u1", "updtr_add name=u1 interval=2000000 offset=100000",
                  "updtr_prdcr_add name=u1 regex=^n", "updtr_start name=u1"]),
    "samplers": (SAMPLER,
                 ["load name=meminfo plugin=meminfo", "config name=meminfo producer=n1 instance=n1/meminfo",
                  "start name=meminfo interval=1000000"],
                 dict(SAMPLER, interval="500ms", offset="100ms"),
                 ["stop name=meminfo", "start name=meminfo interval=500000 offset=100000"]),
    "storage_policies": (POLICY,
                         ["load name=csv plugin=store_csv", "config name=csv path=/tmp/csv",
                          "strgp_add name=p1 plugin=csv container=c schema=meminfo",
                          "strgp_prdcr_add name=p1 regex=^n", "strgp_start name=p1"],
                         dict(POLICY, producers=["^m"]),
                         ["strgp_stop name=p1", "strgp_prdcr_del name=p1 regex=^n",
                          "strgp_prdcr_add name=p1 regex=^m", "strgp_start name=p1"]),
    "advertisers": (ADVERTISER,
                    ["advertiser_add name=a1 host=127.0.0.1 xprt=sock port=1 reconnect=2000000 type=advertiser",
                     "advertiser_start name=a1"],
                    None, None),
    "prdcr_listeners": (LISTENER,
                        ["prdcr_listen_add name=l1 regex=^node- reconnect=2000000", "prdcr_listen_start name=l1"],
                        dict(LISTENER, regex="^login-"),
                        ["prdcr_listen_stop name=l1", "prdcr_listen_del name=l1",
                         "prdcr_listen_add name=l1 regex=^login- reconnect=2000000", "prdcr_listen_start name=l1"]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_merged_creates_then_changes_nothing(kind):
    item, create, _changed, _change = CASES[kind]
    client = InProcessClient()
    assert client.run(kind, "merged", [item]) == create
    assert client.run(kind, "merged", [item]) == []
    assert client.run(kind, "replaced", [item]) == []


@pytest.mark.parametrize("kind", sorted(k for k in CASES if CASES[k][2]))
def test_replaced_sends_the_change_once(kind):
    item, _create, changed, change = CASES[kind]
    client = InProcessClient()
    client.run(kind, "merged", [item])
    assert client.run(kind, "replaced", [changed]) == change
    assert client.run(kind, "replaced", [changed]) == []


@pytest.mark.parametrize("kind", sorted(CASES))
def test_rendered_is_the_create_commands_offline(kind):
    item, create, _changed, _change = CASES[kind]
    assert [c.text() for c in KINDS[kind].create_commands(normalize_config(kind, [item]))] == create


@pytest.mark.parametrize("kind", sorted(CASES))
def test_gathered_fed_back_as_overridden_changes_nothing(kind):
    item, _create, _changed, _change = CASES[kind]
    client = InProcessClient()
    client.run(kind, "merged", [item])
    gathered = plan_for(client, kind, "gathered", []).before
    assert client.run(kind, "overridden", gathered, scope=".*") == []


def test_deleted_and_overridden_respect_scope():
    client = InProcessClient()
    spare = dict(PRODUCER, name="spare")
    client.send(KINDS["producers"].add_commands(normalize_config("producers", [spare])[0])[0])
    other = dict(PRODUCER, name="other")
    client.send(KINDS["producers"].add_commands(normalize_config("producers", [other])[0])[0])
    client.run("producers", "merged", [PRODUCER])
    assert client.run("producers", "overridden", [PRODUCER], scope="^sp") == ["prdcr_del name=spare"]
    assert client.run("producers", "overridden", [PRODUCER], scope="^sp") == []
    assert client.run("producers", "deleted", [other, spare]) == ["prdcr_del name=other"]
    assert client.run("producers", "deleted", [other, spare]) == []
    client.run("updaters", "merged", [UPDATER])
    assert client.run("updaters", "deleted", [UPDATER]) == ["updtr_stop name=u1", "updtr_del name=u1"]
    assert client.run("updaters", "deleted", [UPDATER]) == []
    client.run("samplers", "merged", [SAMPLER])
    assert client.run("samplers", "deleted", [SAMPLER]) == ["stop name=meminfo", "term name=meminfo"]
    assert client.run("samplers", "deleted", [SAMPLER]) == []


def test_updater_membership_changes_on_the_stopped_updater():
    client = InProcessClient()
    for name in ("n1", "n2", "m1"):
        client.run("producers", "merged", [dict(PRODUCER, name=name)])
    client.run("updaters", "merged", [UPDATER])
    wider = dict(UPDATER, producers=["^n1$", "^m"], sets=[{"regex": "meminfo", "field": "schema"}])
    assert client.run("updaters", "merged", [wider]) == [
        "updtr_stop name=u1", "updtr_prdcr_del name=u1 regex=^(n2)$", "updtr_prdcr_add name=u1 regex=^m",
        "updtr_match_add name=u1 regex=meminfo match=schema", "updtr_start name=u1"]
    assert client.run("updaters", "merged", [wider]) == []
    assert client.run("updaters", "merged", [dict(wider, sets=[])]) == [
        "updtr_stop name=u1", "updtr_match_del name=u1 regex=meminfo match=schema", "updtr_start name=u1"]


def test_stopped_sampler_is_started_without_reloading():
    client = InProcessClient()
    client.run("samplers", "merged", [SAMPLER])
    client.send(KINDS["samplers"].stop_commands(normalize_config("samplers", [SAMPLER])[0])[0])
    client.daemon.plugins["meminfo"]["stopped_at"] -= 60  # no sample for a minute
    assert client.run("samplers", "merged", [SAMPLER]) == ["start name=meminfo interval=1000000"]
    assert client.run("samplers", "merged", [SAMPLER]) == []


def test_subscriptions_are_sent_while_not_observable_and_cannot_be_overridden():
    client = InProcessClient()
    client.run("producers", "merged", [PRODUCER])
    subscription = {"stream": "kokkos", "regex": "^n"}
    assert client.run("subscriptions", "merged", [subscription]) == ["prdcr_subscribe stream=kokkos regex=^n"]
    assert client.run("subscriptions", "deleted", [subscription]) == ["prdcr_unsubscribe regex=^n stream=kokkos"]
    with pytest.raises(LdmsdError, match="cannot list them"):
        client.run("subscriptions", "overridden", [subscription], scope=".*")


@pytest.mark.parametrize("kind, item, changed", [("producers", PRODUCER, dict(PRODUCER, port=2)),
                                                 ("advertisers", ADVERTISER, dict(ADVERTISER, reconnect="5s"))])
def test_changing_a_started_producer_is_refused_by_4_5_3_and_says_why(kind, item, changed):
    client = InProcessClient()
    client.run(kind, "merged", [item])
    with pytest.raises(LdmsdError, match="cannot delete a producer that was ever started") as info:
        client.run(kind, "replaced", [changed])
    stop = KINDS[kind].stop_commands(normalize_config(kind, [item])[0])[0].text()
    assert info.value.applied == [stop, stop.replace("_stop", "_start")]
    # Started again as it was: the data keeps flowing.
    assert client.daemon.producers[item["name"]]["state"] != "STOPPED"
    assert client.run(kind, "merged", [item]) == []


def test_plugins_on_an_aggregator_start_only_with_an_interval():
    client = InProcessClient()
    idle = {"name": "jobid", "config": {"producer": "agg", "instance": "agg/jobid"}}
    timed = {"name": "vmstat", "interval": "2s", "config": {"producer": "agg", "instance": "agg/vmstat"}}
    assert client.run("aggregator_plugins", "merged", [idle, timed]) == [
        "load name=jobid plugin=jobid", "config name=jobid producer=agg instance=agg/jobid",
        "load name=vmstat plugin=vmstat", "config name=vmstat producer=agg instance=agg/vmstat",
        "start name=vmstat interval=2000000"]
    assert client.run("aggregator_plugins", "merged", [idle, timed]) == []
