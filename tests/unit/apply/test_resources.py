"""Commands planned from replies shaped like ldmsd 4.5.3's."""

import json

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.apply.info import compile_query
from ansible_collections.hpc.ldms.plugins.module_utils.apply.resources import (
    apply_commands,
    config_text,
    normalize_config,
    plan_changes,
    plan_from_scratch,
)
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.commands import Command

PRDCR_STATUS = [
    {"name": "samp1", "type": "active", "host": "127.0.0.1", "port": 10001, "transport": "sock", "auth": "DEFAULT",
     "rail": "1", "quota": "-1", "rx_rate": "-1", "reconnect_us": "1000000", "state": "CONNECTED",
     "sets": [{"inst_name": "samp1/meminfo", "schema_name": "meminfo", "state": "READY"}]},
    {"name": "samp2", "type": "active", "host": "127.0.0.1", "port": 10003, "transport": "sock", "auth": "DEFAULT",
     "rail": "1", "quota": "-1", "rx_rate": "-1", "reconnect_us": "1000000", "state": "STOPPED", "sets": []},
    {"name": "other", "type": "active", "host": "10.0.0.9", "port": 411, "transport": "sock", "auth": "DEFAULT",
     "rail": "1", "quota": "-1", "rx_rate": "-1", "reconnect_us": "20000000", "state": "CONNECTED", "sets": []},
]
UPDTR_STATUS = [
    {"name": "upd1", "interval": "1000000", "offset": "100000", "sync": "true", "mode": "Pull", "auto": "false",
     "state": "RUNNING", "producers": [{"name": "samp1", "host": "127.0.0.1", "port": 10001, "transport": "sock",
                                        "state": "CONNECTED"}, {"name": "samp2"}, {"name": "other"}]},
]


class FakeClient:
    def __init__(self, fail_on=None):
        self.sent = []
        self.fail_on = fail_on

    def status(self, verb, attrs=()):
        return json.loads(json.dumps({"prdcr_status": PRDCR_STATUS, "updtr_status": UPDTR_STATUS,
                                      "updtr_match_list": [{"name": "upd1", "match": []}]}[verb]))

    def send(self, command):
        if self.fail_on and command.verb == self.fail_on:
            return 16, "The producer is in use."
        self.sent.append(command.text())
        return 0, None


def producers(*items):
    return normalize_config("producers", list(items))


SAMP1 = {"name": "samp1", "host": "127.0.0.1", "port": 10001, "reconnect": "1s"}


def texts(plan):
    return [command.text() for command in plan.commands]


def test_merged_matching_producer_sends_nothing_and_starts_stopped_one():
    facts = KINDS["producers"].facts(FakeClient())
    plan = plan_changes("producers", "merged", producers(SAMP1, dict(SAMP1, name="samp2", port=10003)), facts)
    assert texts(plan) == ["prdcr_start name=samp2"]


def test_units_do_not_matter():
    facts = KINDS["producers"].facts(FakeClient())
    for reconnect in ("1s", 1000000, "1000000", "1000ms"):
        assert texts(plan_changes("producers", "merged", producers(dict(SAMP1, reconnect=reconnect)), facts)) == []


def test_changed_running_producer_is_stop_del_add_start():
    facts = KINDS["producers"].facts(FakeClient())
    plan = plan_changes("producers", "merged", producers(dict(SAMP1, reconnect="2s")), facts)
    assert texts(plan) == ["prdcr_stop name=samp1", "prdcr_del name=samp1",
                           "prdcr_add name=samp1 host=127.0.0.1 port=10001 xprt=sock type=active reconnect=2000000",
                           "prdcr_start name=samp1"]


def test_new_producer_and_rendered_text_agree():
    new = producers({"name": "n9", "host": "node-9", "port": 411, "reconnect": "20s", "rail": 2})
    plan = plan_changes("producers", "merged", new, KINDS["producers"].facts(FakeClient()))
    assert texts(plan) == [c.text() for c in KINDS["producers"].create_commands(new)]


def test_replaced_compares_left_out_attributes_with_daemon_defaults():
    facts = KINDS["producers"].facts(FakeClient())
    assert texts(plan_changes("producers", "replaced", producers(SAMP1), facts)) == []
    plan = plan_changes("producers", "merged", producers(dict(SAMP1, rail=2)), facts)
    assert texts(plan)[0] == "prdcr_stop name=samp1"


def test_overridden_only_deletes_inside_scope():
    facts = KINDS["producers"].facts(FakeClient())
    plan = plan_changes("producers", "overridden", producers(SAMP1), facts, scope="^samp")
    assert texts(plan) == ["prdcr_del name=samp2"]
    assert {item["name"] for item in plan.after} == {"samp1", "other"}


def test_deleted():
    facts = KINDS["producers"].facts(FakeClient())
    plan = plan_changes("producers", "deleted", producers(SAMP1, dict(SAMP1, name="absent")), facts)
    assert texts(plan) == ["prdcr_stop name=samp1", "prdcr_del name=samp1"]


def test_updater_matching_by_effect_and_interval_units():
    client = FakeClient()
    facts, names = KINDS["updaters"].facts(client), list(KINDS["producers"].facts(client))
    same = normalize_config("updaters", [{"name": "upd1", "interval": "1s", "offset": "100ms"}])
    assert texts(plan_changes("updaters", "merged", same, facts, producer_names=names)) == []
    narrower = normalize_config("updaters", [{"name": "upd1", "interval": "1s", "offset": "100ms",
                                             "producers": ["^samp"]}])
    plan = plan_changes("updaters", "merged", narrower, facts, producer_names=names)
    # Membership changes on the stopped updater; it is not re-created.
    assert texts(plan) == ["updtr_stop name=upd1", "updtr_prdcr_del name=upd1 regex=^(other)$", "updtr_start name=upd1"]
    faster = normalize_config("updaters", [{"name": "upd1", "interval": "500ms", "offset": "100ms"}])
    assert texts(plan_changes("updaters", "merged", faster, facts, producer_names=names)) == [
        "updtr_stop name=upd1", "updtr_del name=upd1", "updtr_add name=upd1 interval=500000 offset=100000",
        "updtr_prdcr_add name=upd1 regex=.*", "updtr_start name=upd1"]


def test_failure_reports_what_was_applied():
    client = FakeClient(fail_on="prdcr_del")
    with pytest.raises(LdmsdError) as info:
        apply_commands(client, [Command("prdcr_stop", (("name", "a"),)), Command("prdcr_del", (("name", "a"),))])
    # The stopped producer is started again as it was: a failed change never leaves it stopped.
    assert info.value.applied == ["prdcr_stop name=a", "prdcr_start name=a"]
    assert client.sent == ["prdcr_stop name=a", "prdcr_start name=a"]
    assert "prdcr_del name=a failed: errcode 16: The producer is in use." in str(info.value)
    assert "Started again as they were: prdcr_start name=a." in str(info.value)


def test_failed_delete_of_a_stopped_producer_starts_it_again():
    client = FakeClient(fail_on="prdcr_del")
    with pytest.raises(LdmsdError):
        apply_commands(client, [Command("prdcr_del", (("name", "b"),)), Command("prdcr_add", (("name", "b"),))])
    assert client.sent == ["prdcr_start name=b"]


def test_adding_what_is_there_is_done_for_auth_and_listen():
    class Exists(FakeClient):
        def send(self, command):
            self.sent.append(command.text())
            return 17, "already exists"

    client = Exists()
    commands = [Command.make("auth_add", ("name", "munge"), ("plugin", "munge")),
                Command.make("listen", ("xprt", "sock"), ("port", 10000))]
    assert apply_commands(client, commands) == ["auth_add name=munge plugin=munge", "listen xprt=sock port=10000"]
    with pytest.raises(LdmsdError, match="errcode 17"):
        apply_commands(client, [Command.make("prdcr_add", ("name", "x"))])


@pytest.mark.parametrize("domain", ["none", "DEFAULT", "munge", "site-ovis"])
def test_explicit_auth_domain_round_trips(domain):
    reported = [dict(PRDCR_STATUS[0], auth=domain)]

    class Client(FakeClient):
        def status(self, verb, attrs=()):
            return json.loads(json.dumps(reported))

    facts = KINDS["producers"].facts(Client())
    assert facts["samp1"]["item"]["auth"] == domain
    for state in ("merged", "replaced"):
        assert texts(plan_changes("producers", state, producers(dict(SAMP1, auth=domain)), facts)) == []


def test_no_auth_is_the_domain_ldmsd_reports_as_default():
    facts = KINDS["producers"].facts(FakeClient())
    assert texts(plan_changes("producers", "replaced", producers(SAMP1), facts)) == []
    plan = plan_changes("producers", "replaced", producers(dict(SAMP1, auth="none")), facts)
    assert texts(plan) == ["prdcr_stop name=samp1", "prdcr_del name=samp1",
                           "prdcr_add name=samp1 host=127.0.0.1 port=10001 xprt=sock type=active reconnect=1000000 "
                           "auth=none", "prdcr_start name=samp1"]


def test_keep_started_leaves_a_running_producer_and_says_so():
    facts = KINDS["producers"].facts(FakeClient())
    moved = producers(dict(SAMP1, host="10.0.0.5"), {"name": "samp2", "host": "10.0.0.6", "port": 10003,
                                                     "reconnect": "1s"})
    plan = plan_changes("producers", "merged", moved, facts, keep_started=True)
    assert plan.kept == [{"name": "samp1", "differs": ["host"]}]
    # samp2 is stopped: re-created (a refused delete starts it again as it was).
    assert texts(plan)[0] == "prdcr_del name=samp2"


def test_bad_item_names_the_path():
    with pytest.raises(LdmsdError, match=r"config\[0\].reconnect: bad time value 'soon'"):
        producers(dict(SAMP1, reconnect="soon"))
    with pytest.raises(LdmsdError, match=r"config\[0\]: unknown attribute 'colour'"):
        producers(dict(SAMP1, colour="red"))


STRGP_STATUS = [{"name": "s1", "container": "c", "schema": "meminfo", "regex": "-", "plugin": "store_csv",
                 "flush": "10.000000", "state": "RUNNING", "decomp": "-", "producers": ["^samp"],
                 "metrics": ["component_id", "MemFree"]}]


def test_storage_policies_compare_library_and_flush_in_microseconds():

    class Client(FakeClient):
        def status(self, verb, attrs=()):
            return json.loads(json.dumps(STRGP_STATUS))

    facts = KINDS["storage_policies"].facts(Client())
    same = normalize_config("storage_policies", [{"name": "s1", "plugin": "csv1", "container": "c", "schema": "meminfo",
                                                  "flush": "10s", "producers": ["^samp"]}])
    assert texts(plan_changes("storage_policies", "merged", same, facts, plugins={"csv1": "store_csv"})) == []
    new = normalize_config("storage_policies", [{"name": "s2", "plugin": "csv2", "container": "c", "schema": "vmstat",
                                                 "plugin_config": {"plugin": "store_csv", "path": "/d", "buffer": 0}}])
    plan = plan_changes("storage_policies", "merged", new, facts, plugins={"csv1": "store_csv"})
    assert texts(plan) == ["load name=csv2 plugin=store_csv", "config name=csv2 path=/d buffer=0",
                           "strgp_add name=s2 plugin=csv2 container=c schema=vmstat", "strgp_start name=s2"]


def test_diff_text_is_config_lines_sorted_by_object():
    items = normalize_config("producers", [
        {"name": "b", "host": "h2", "port": 2, "reconnect": "1s"},
        {"name": "a", "host": "h1", "port": 1, "reconnect": "2s", "auth": None}])
    assert config_text("producers", items) == (
        "prdcr_add name=a host=h1 port=1 xprt=sock type=active reconnect=2000000\nprdcr_start name=a\n"
        "prdcr_add name=b host=h2 port=2 xprt=sock type=active reconnect=1000000\nprdcr_start name=b\n")
    assert config_text("producers", []) == ""
    updaters = normalize_config("updaters", [{"name": "u", "interval": "1s", "producers": ["^a$"],
                                              "sets": [{"regex": "mem", "field": "schema"}]}])
    assert config_text("updaters", updaters).splitlines() == [
        "updtr_add name=u interval=1000000", "updtr_prdcr_add name=u regex=^a$",
        "updtr_match_add name=u regex=mem match=schema", "updtr_start name=u"]


def test_plan_from_scratch_adds_everything():
    wanted = normalize_config("storage_policies", [
        {"name": "csv-mem", "plugin": "csv", "container": "store", "schema": "meminfo",
         "plugin_config": {"plugin": "store_csv", "path": "/tmp/csv"}}])
    plan = plan_from_scratch("storage_policies", "merged", wanted)
    assert [c.text() for c in plan.commands] == [
        "load name=csv plugin=store_csv", "config name=csv path=/tmp/csv",
        "strgp_add name=csv-mem plugin=csv container=store schema=meminfo", "strgp_start name=csv-mem"]
    assert plan.before == [] and [item["name"] for item in plan.after] == ["csv-mem"]
    subscriptions = plan_from_scratch("subscriptions", "merged", normalize_config("subscriptions", [{"stream": "s"}]))
    assert [c.text() for c in subscriptions.commands] == ["prdcr_subscribe stream=s regex=.*"]


def test_query_is_checked_before_use():
    info = {"producers": [{"name": "a", "state": "CONNECTED"}, {"name": "b", "state": "DISCONNECTED"}],
            "sets": ["x/meminfo"]}
    assert compile_query("producers[?state!='CONNECTED'].name").search(info) == ["b"]
    assert compile_query("length(sets)").search(info) == 1
    with pytest.raises(LdmsdError, match=r"query 'producers\[\?' is not a valid JMESPath expression"):
        compile_query("producers[?")
