"""The ldmsd_* resource modules through AnsibleModule, against a simulated ldmsd over a socket.

Each case runs the module's main() with task arguments, as the controller
would, and checks what it returns and what the daemon received.
"""

import importlib
import os
import sys

import pytest

from utils import fail_module, run_module

# One example item per kind, shared with the engine's tests.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "apply"))
from test_states import ADVERTISER, LISTENER, POLICY, PRODUCER, SAMPLER, UPDATER  # noqa: E402

MODULES = "ansible_collections.hpc.ldms.plugins.modules."
SUBSCRIPTION = {"stream": "kokkos", "regex": "^n"}


class Case:
    """A module, an item and the exact commands that create it; a bad value and the attribute it is in."""

    def __init__(self, module, item, create, bad, changed=None, change=None):
        self.name, self.item, self.create = module, item, create
        self.bad_attr, self.bad_value = bad
        self.changed, self.change = changed, change

    @property
    def main(self):
        return importlib.import_module(MODULES + self.name).main


CASES = [
    Case("ldmsd_producers", PRODUCER,
         ["prdcr_add name=n1 host=127.0.0.1 port=1 xprt=sock type=active reconnect=20000000", "prdcr_start name=n1"],
         ("port", "port-one")),
    Case("ldmsd_updaters", UPDATER,
         ["updtr_add name=u1 interval=1000000 offset=100000", "updtr_prdcr_add name=u1 regex=^n",
          "updtr_start name=u1"],
         ("interval", "soon"), dict(UPDATER, interval="2s"),
         ["updtr_stop name=u1", "updtr_del name=u1", "updtr_add name=u1 interval=2000000 offset=100000",
          "updtr_prdcr_add name=u1 regex=^n", "updtr_start name=u1"]),
    Case("ldmsd_samplers", SAMPLER,
         ["load name=meminfo plugin=meminfo", "config name=meminfo producer=n1 instance=n1/meminfo",
          "start name=meminfo interval=1000000"],
         ("offset", "later"), dict(SAMPLER, interval="500ms", offset="100ms"),
         ["stop name=meminfo", "start name=meminfo interval=500000 offset=100000"]),
    Case("ldmsd_storage_policies", POLICY,
         ["load name=csv plugin=store_csv", "config name=csv path=/tmp/csv",
          "strgp_add name=p1 plugin=csv container=c schema=meminfo", "strgp_prdcr_add name=p1 regex=^n",
          "strgp_start name=p1"],
         ("flush", "often"), dict(POLICY, producers=["^m"]),
         ["strgp_stop name=p1", "strgp_prdcr_del name=p1 regex=^n", "strgp_prdcr_add name=p1 regex=^m",
          "strgp_start name=p1"]),
    Case("ldmsd_advertisers", ADVERTISER,
         ["advertiser_add name=a1 host=127.0.0.1 xprt=sock port=1 reconnect=2000000 type=advertiser",
          "advertiser_start name=a1"],
         ("port", 70000)),
    Case("ldmsd_prdcr_listeners", LISTENER,
         ["prdcr_listen_add name=l1 regex=^node- reconnect=2000000", "prdcr_listen_start name=l1"],
         ("reconnect", "-"), dict(LISTENER, regex="^login-"),
         ["prdcr_listen_stop name=l1", "prdcr_listen_del name=l1",
          "prdcr_listen_add name=l1 regex=^login- reconnect=2000000", "prdcr_listen_start name=l1"]),
    Case("ldmsd_subscriptions", SUBSCRIPTION, ["prdcr_subscribe stream=kokkos regex=^n"], ("rx_rate", "fast")),
]
BY_NAME = {case.name: case for case in CASES}
IDS = [case.name for case in CASES]
OBSERVABLE = [case for case in CASES if case.name != "ldmsd_subscriptions"]


def args_for(ldmsd, config, **more):
    return dict(ldmsd.args, config=config, **more)


def test_every_resource_module_is_covered():
    modules_dir = os.path.dirname(importlib.import_module(MODULES + "ldmsd_producers").__file__)
    runners = []
    for name in sorted(os.listdir(modules_dir)):
        with open(os.path.join(modules_dir, name), encoding="utf-8") as stream:
            if name.endswith(".py") and "module_runner import run" in stream.read():
                runners.append(name[:-3])
    assert runners == sorted(IDS)


@pytest.mark.parametrize("case", OBSERVABLE, ids=[c.name for c in OBSERVABLE])
def test_merged_sends_the_create_commands_once(ldmsd, case):
    first = run_module(case.main, args_for(ldmsd, [case.item]))
    assert first["changed"] and first["commands"] == case.create
    assert first["before"] == [] and len(first["after"]) == 1
    assert ldmsd.changes() == [command.split()[0] for command in case.create]
    second = run_module(case.main, args_for(ldmsd, [case.item]))
    assert not second["changed"] and second["commands"] == []
    assert second["before"] == second["after"]
    assert [item.get("name") for item in second["before"]] == [case.item["name"]]
    assert len(ldmsd.changes()) == len(case.create)


def test_subscriptions_are_sent_until_every_matched_producer_reports_them(ldmsd):
    case = BY_NAME["ldmsd_subscriptions"]
    run_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [PRODUCER]))
    first = run_module(case.main, args_for(ldmsd, [case.item]))
    assert first["changed"] and first["commands"] == case.create
    assert ldmsd.changes()[-1] == "prdcr_subscribe"
    deleted = run_module(case.main, args_for(ldmsd, [case.item], state="deleted"))
    assert deleted["commands"] == ["prdcr_unsubscribe regex=^n stream=kokkos"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_mode_returns_the_commands_and_sends_nothing(ldmsd, case):
    predicted = run_module(case.main, args_for(ldmsd, [case.item]), check_mode=True)
    assert predicted["changed"] and predicted["commands"] == case.create
    assert ldmsd.changes() == [] and ldmsd.requests, "status read, nothing changed"
    applied = run_module(case.main, args_for(ldmsd, [case.item]))
    assert applied["commands"] == predicted["commands"]
    if case in OBSERVABLE:
        assert applied["after"] == predicted["after"]


@pytest.mark.parametrize("case", [c for c in CASES if c.changed], ids=[c.name for c in CASES if c.changed])
def test_a_change_is_predicted_in_check_mode_then_applied_once(ldmsd, case):
    run_module(case.main, args_for(ldmsd, [case.item]))
    sent = len(ldmsd.changes())
    predicted = run_module(case.main, args_for(ldmsd, [case.changed], state="replaced"), check_mode=True)
    assert predicted["changed"] and predicted["commands"] == case.change
    assert len(ldmsd.changes()) == sent
    applied = run_module(case.main, args_for(ldmsd, [case.changed], state="replaced"))
    assert applied["commands"] == case.change
    assert not run_module(case.main, args_for(ldmsd, [case.changed], state="replaced"))["changed"]


DELETES = {"ldmsd_updaters": ["updtr_stop name=u1", "updtr_del name=u1"],
           "ldmsd_samplers": ["stop name=meminfo", "term name=meminfo"],
           "ldmsd_storage_policies": ["strgp_stop name=p1", "strgp_del name=p1"],
           "ldmsd_prdcr_listeners": ["prdcr_listen_stop name=l1", "prdcr_listen_del name=l1"]}


@pytest.mark.parametrize("name", sorted(DELETES))
def test_deleted_stops_and_removes_once(ldmsd, name):
    case = BY_NAME[name]
    run_module(case.main, args_for(ldmsd, [case.item]))
    predicted = run_module(case.main, args_for(ldmsd, [case.item], state="deleted"), check_mode=True, diff=True)
    assert predicted["commands"] == DELETES[name] and predicted["diff"]["after"] == ""
    assert case.item["name"] in predicted["diff"]["before"]
    deleted = run_module(case.main, args_for(ldmsd, [case.item], state="deleted"))
    assert deleted["changed"] and deleted["commands"] == DELETES[name] and deleted["after"] == []
    again = run_module(case.main, args_for(ldmsd, [case.item], state="deleted"))
    assert not again["changed"] and again["commands"] == []


def test_overridden_removes_only_what_is_in_scope(ldmsd):
    case = BY_NAME["ldmsd_updaters"]
    others = [dict(UPDATER, name="u2"), dict(UPDATER, name="keep")]
    run_module(case.main, args_for(ldmsd, [UPDATER] + others))
    args = args_for(ldmsd, [UPDATER], state="overridden", scope="^u")
    predicted = run_module(case.main, args, check_mode=True, diff=True)
    assert predicted["commands"] == ["updtr_stop name=u2", "updtr_del name=u2"]
    assert "name=u2" in predicted["diff"]["before"] and "name=u2" not in predicted["diff"]["after"]
    assert "name=keep" in predicted["diff"]["after"]
    assert run_module(case.main, args)["commands"] == predicted["commands"]
    assert [item["name"] for item in run_module(case.main, dict(ldmsd.args, state="gathered"))["gathered"]] == [
        "keep", "u1"]
    assert run_module(case.main, args)["commands"] == []


@pytest.mark.parametrize("name", ["ldmsd_producers", "ldmsd_advertisers"])
def test_deleting_a_started_producer_is_refused_by_4_5_3_and_it_keeps_running(ldmsd, name):
    case = BY_NAME[name]
    run_module(case.main, args_for(ldmsd, [case.item]))
    verb = case.create[-1].split()[0].replace("_start", "")
    result = fail_module(case.main, args_for(ldmsd, [case.item], state="deleted"))
    assert result["errcode"] == 16 and result["command"] == "%s_del name=%s" % (verb, case.item["name"])
    assert result["applied"] == ["%s_stop name=%s" % (verb, case.item["name"]), "%s_start name=%s" % (verb, case.item["name"])]
    assert "ever started" in result["msg"]
    assert run_module(case.main, args_for(ldmsd, [case.item]))["commands"] == []


@pytest.mark.parametrize("case", OBSERVABLE, ids=[c.name for c in OBSERVABLE])
def test_diff_shows_config_lines_before_and_after(ldmsd, case):
    diff = run_module(case.main, args_for(ldmsd, [case.item]), check_mode=True, diff=True)["diff"]
    assert diff["before"] == ""
    # The after side reads as config-file lines of the object, one per line.
    lines = diff["after"].splitlines()
    assert diff["after"].endswith("\n") and lines and set(lines) <= set(case.create)
    where = "127.0.0.1:%d" % ldmsd.port
    assert diff["before_header"] == diff["after_header"] and diff["before_header"].endswith(where)
    run_module(case.main, args_for(ldmsd, [case.item]))
    same = run_module(case.main, args_for(ldmsd, [case.item]), diff=True)["diff"]
    assert same["before"] == same["after"] and case.item["name"] in same["after"]


def test_no_diff_key_without_diff_mode(ldmsd):
    result = run_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [PRODUCER]), check_mode=True)
    assert "diff" not in result


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rendered_is_offline(ldmsd, case):
    result = run_module(case.main, {"config": [case.item], "state": "rendered"})
    assert result == {"changed": False, "rendered": case.create, "commands": case.create, "warnings": []}
    assert ldmsd.requests == []


@pytest.mark.parametrize("case", OBSERVABLE, ids=[c.name for c in OBSERVABLE])
def test_gathered_is_what_overridden_takes_back(ldmsd, case):
    empty = run_module(case.main, dict(ldmsd.args, state="gathered"))
    assert empty["gathered"] == [] and not empty["changed"] and empty["commands"] == []
    run_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [PRODUCER]))
    run_module(case.main, args_for(ldmsd, [case.item]))
    gathered = run_module(case.main, dict(ldmsd.args, state="gathered"))
    assert gathered["gathered"] == run_module(case.main, args_for(ldmsd, [case.item]))["before"]
    assert [item["name"] for item in gathered["gathered"]] == (
        ["n1"] if case.name == "ldmsd_producers" else [case.item["name"]])
    sent = len(ldmsd.changes())
    again = run_module(case.main, args_for(ldmsd, gathered["gathered"], state="overridden", scope=".*"))
    assert not again["changed"] and again["commands"] == [] and len(ldmsd.changes()) == sent


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_value_fails_naming_the_attribute_and_value(ldmsd, case):
    good = dict(case.item, name="first") if "name" in case.item else case.item
    bad = dict(case.item, **{case.bad_attr: case.bad_value})
    result = fail_module(case.main, args_for(ldmsd, [good, bad]))
    assert "config[1].%s" % case.bad_attr in result["msg"] and str(case.bad_value) in result["msg"]
    assert result["applied"] == [] and ldmsd.requests == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_attribute_fails_naming_it(ldmsd, case):
    result = fail_module(case.main, args_for(ldmsd, [dict(case.item, intervall="1s")], state="merged"))
    assert "config[0]" in result["msg"] and "intervall" in result["msg"]
    assert ldmsd.requests == []


def test_missing_required_attribute_fails_naming_it(ldmsd):
    item = {key: value for key, value in PRODUCER.items() if key != "host"}
    result = fail_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [item]))
    assert "config[0].host" in result["msg"] and ldmsd.requests == []


@pytest.mark.parametrize("args, words", [
    ({"state": "merged"}, ["state is merged", "config"]),
    ({"state": "overridden", "config": [PRODUCER]}, ["state is overridden", "scope"]),
    ({"state": "mergd", "config": [PRODUCER]}, ["state", "mergd"]),
    ({"config": [PRODUCER], "port": "not-a-port"}, ["port", "not-a-port"]),
])
def test_argument_spec_refuses_bad_task_arguments(ldmsd, args, words):
    result = fail_module(BY_NAME["ldmsd_producers"].main, dict(ldmsd.args, **args))
    for word in words:
        assert word in result["msg"], (word, result["msg"])
    assert ldmsd.requests == []


def test_overridden_with_an_empty_config_is_refused(ldmsd):
    result = fail_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [], state="overridden", scope=".*"))
    assert "overridden" in result["msg"] and "non-empty config" in result["msg"] and ldmsd.requests == []


def test_subscriptions_cannot_be_overridden(ldmsd):
    result = fail_module(BY_NAME["ldmsd_subscriptions"].main,
                         args_for(ldmsd, [SUBSCRIPTION], state="overridden", scope=".*"))
    assert "state=overridden is not possible for subscriptions" in result["msg"] and ldmsd.changes() == []


def test_without_port_the_module_says_so(ldmsd):
    result = fail_module(BY_NAME["ldmsd_producers"].main, {"config": [PRODUCER], "ldms_prefix": ldmsd.args["ldms_prefix"]})
    assert "port is required" in result["msg"]


def test_unreachable_daemon_fails_with_the_address(ldmsd):
    ldmsd.close()
    result = fail_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [PRODUCER]))
    assert "cannot reach ldmsd at 127.0.0.1:%d" % ldmsd.port in result["msg"]


def test_unreachable_daemon_in_check_mode_predicts_from_scratch_when_asked(ldmsd):
    ldmsd.close()
    case = BY_NAME["ldmsd_producers"]
    result = run_module(case.main, args_for(ldmsd, [PRODUCER], predict_absent=True), check_mode=True)
    assert result["changed"] and result["commands"] == case.create
    assert len(result["warnings"]) == 1 and "predicted from scratch" in result["warnings"][0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_refused_command_fails_with_errcode_command_and_what_was_applied(ldmsd, case):
    if case.name in ("ldmsd_updaters", "ldmsd_subscriptions"):
        run_module(BY_NAME["ldmsd_producers"].main, args_for(ldmsd, [PRODUCER]))
    refused = case.create[-1]
    ldmsd.refuse(refused.split()[0], 12, "Not enough memory")
    result = fail_module(case.main, args_for(ldmsd, [case.item]))
    assert result["errcode"] == 12 and result["command"] == refused
    assert result["applied"] == case.create[:-1]
    assert refused in result["msg"] and "Not enough memory" in result["msg"]


def test_sampler_plugin_ldmsd_cannot_load(ldmsd):
    item = dict(SAMPLER, name="gpu", plugin="nvidia_gpu_sampler")
    result = fail_module(BY_NAME["ldmsd_samplers"].main, args_for(ldmsd, [item]))
    assert result["errcode"] == 2 and result["command"] == "load name=gpu plugin=nvidia_gpu_sampler"
    assert result["applied"] == [] and "nvidia_gpu_sampler" in result["msg"]


def test_changing_a_started_producer_restarts_it_and_says_why(ldmsd):
    case = BY_NAME["ldmsd_producers"]
    run_module(case.main, args_for(ldmsd, [PRODUCER]))
    result = fail_module(case.main, args_for(ldmsd, [dict(PRODUCER, port=2)], state="replaced"))
    assert result["errcode"] == 16 and result["command"] == "prdcr_del name=n1"
    assert result["applied"] == ["prdcr_stop name=n1", "prdcr_start name=n1"]
    assert "ever started" in result["msg"]
    assert run_module(case.main, args_for(ldmsd, [PRODUCER]))["commands"] == []


@pytest.mark.parametrize("case", OBSERVABLE, ids=[c.name for c in OBSERVABLE])
def test_duplicate_names_in_config_are_refused_before_sending(ldmsd, case):
    result = fail_module(case.main, args_for(ldmsd, [case.item, case.item]))
    assert "config[1].name" in result["msg"] and case.item["name"] in result["msg"]
    assert result["applied"] == [] and ldmsd.changes() == []
