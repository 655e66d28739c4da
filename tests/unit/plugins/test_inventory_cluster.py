"""The hpc.ldms.cluster inventory plugin through Ansible's InventoryManager, on small cluster files."""

import json

import pytest

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar
from ansible.vars.manager import VariableManager

CLUSTER = """daemons:
  - names: "samp-[1-4]"
    hosts: "node-[1-4]"
    endpoints:
      - {names: "samp-[1-4]-ep", ports: 10001}
  - names: "l1-[1-2]"
    hosts: "head-[1-2]"
    endpoints:
      - {names: "l1-[1-2]-ep", ports: 10101}
  - names: l2
    hosts: head-1
    endpoints:
      - {names: l2-ep, ports: 10201}
aggregators:
  - daemons: "l1-[1-2]"
    peers:
      - {daemons: "samp-[1-4]", endpoints: "samp-[1-4]-ep", reconnect: 1s, type: active,
         updaters: [{interval: 1s, offset: 100ms}]}
  - daemons: l2
    peers:
      - {daemons: "l1-[1-2]", endpoints: "l1-[1-2]-ep", reconnect: 1s, type: active,
         updaters: [{interval: 1s, offset: 200ms}]}
samplers:
  - daemons: "samp-[1-4]"
    plugins: [meminfo1]
plugins:
  meminfo1: {name: meminfo, interval: 1s, config: [{schema: meminfo}]}
"""
SAMPLERS = ["samp-1", "samp-2", "samp-3", "samp-4"]


def inline(tmp_path, text=CLUSTER, options="", name="inventory.yaml"):
    path = tmp_path / name
    path.write_text("plugin: hpc.ldms.cluster\n" + options + text)
    return str(path)


def load(path):
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[path])
    return inventory, VariableManager(loader=loader, inventory=inventory), loader


def members(inventory, group):
    return [host.name for host in inventory.groups[group].get_hosts()]


def plan_of(inventory, variables, loader, name):
    """ldms_plan as a task reads it: the template the plugin sets, rendered with the host's variables."""
    host_vars = variables.get_vars(host=inventory.get_host(name))
    return Templar(loader=loader, variables=host_vars).template(host_vars["ldms_plan"])


def producer_names(plan):
    return [producer["name"] for producer in plan["objects"]["producers"]]


def test_the_plugin_is_found_by_its_name(tmp_path):
    plugin = inventory_loader.get("hpc.ldms.cluster")
    assert plugin is not None and plugin.NAME == "hpc.ldms.cluster"
    (tmp_path / "cluster.json").write_text("{}")
    assert plugin.verify_file(inline(tmp_path)) and not plugin.verify_file(str(tmp_path / "cluster.json"))


def test_hosts_and_groups(tmp_path):
    inventory, _variables, _loader = load(inline(tmp_path))
    assert members(inventory, "ldms_daemons") == SAMPLERS + ["l1-1", "l1-2", "l2"]
    assert members(inventory, "ldms_samplers") == SAMPLERS
    assert members(inventory, "ldms_aggregators") == ["l1-1", "l1-2", "l2"]
    assert members(inventory, "ldms_level_1") == ["l1-1", "l1-2"] and members(inventory, "ldms_level_2") == ["l2"]
    assert members(inventory, "ldms_group_l1__1_2_") == ["l1-1", "l1-2"] and members(inventory, "ldms_group_l2") == ["l2"]
    assert members(inventory, "all") == members(inventory, "ldms_daemons")


def test_host_variables(tmp_path):
    path = inline(tmp_path, options="vars: {ldms_deploy_mode: podman}\n")
    inventory, variables, _loader = load(path)
    agg = variables.get_vars(host=inventory.get_host("l1-2"))
    assert agg["ansible_host"] == "head-2" and agg["ldms_daemon"] == "l1-2"
    assert agg["ldms_role"] == "aggregator" and agg["ldms_level"] == 1 and agg["ldms_groups"] == ["l1-[1-2]"]
    assert agg["ldms_control"] == {"host": "head-2", "port": 10101, "xprt": "sock", "auth": "none"}
    assert type(agg["ldms_control"]["port"]) is int  # pylint: disable=unidiomatic-typecheck
    assert agg["ldms_cluster_file"] == path and agg["inventory_file"] == path
    assert agg["inventory_dir"] == str(tmp_path) and agg["ldms_deploy_mode"] == "podman"
    sampler = variables.get_vars(host=inventory.get_host("samp-3"))
    assert sampler["ldms_role"] == "sampler" and sampler["ldms_level"] == 0 and sampler["ldms_groups"] == []


def test_ldms_plan_is_rendered_when_read(tmp_path):
    inventory, variables, loader = load(inline(tmp_path))
    plans = {name: plan_of(inventory, variables, loader, name) for name in ("l1-1", "l1-2", "l2", "samp-1")}
    # The group's four samplers are shared by its two aggregators, each once.
    assert sorted(producer_names(plans["l1-1"]) + producer_names(plans["l1-2"])) == [
        "samp-1-ep", "samp-2-ep", "samp-3-ep", "samp-4-ep"]
    assert len(producer_names(plans["l1-1"])) == 2
    assert producer_names(plans["l2"]) == ["l1-1-ep", "l1-2-ep"]
    assert plans["l1-1"]["groups"] == ["l1-[1-2]"]
    assert "listen xprt=sock port=10101 host=head-1" in plans["l1-1"]["prelude"]
    assert [sampler["name"] for sampler in plans["samp-1"]["objects"]["samplers"]] == ["meminfo1"]
    json.dumps(plans)  # plain data, as a module argument must be


def test_ldms_config_reads_a_cluster_file_beside_the_inventory(tmp_path):
    (tmp_path / "ldms.yaml").write_text(CLUSTER)
    path = tmp_path / "inventory.yaml"
    path.write_text("plugin: hpc.ldms.cluster\nldms_config: ldms.yaml\n")
    inventory, variables, _loader = load(str(path))
    assert members(inventory, "ldms_samplers") == SAMPLERS
    assert variables.get_vars(host=inventory.get_host("l2"))["ldms_cluster_file"] == str(tmp_path / "ldms.yaml")


def test_constructed_options_apply(tmp_path):
    options = "keyed_groups:\n  - {key: ldms_role, prefix: role}\ncompose:\n  port: ldms_control.port\n"
    inventory, variables, _loader = load(inline(tmp_path, options=options))
    assert members(inventory, "role_aggregator") == ["l1-1", "l1-2", "l2"]
    assert variables.get_vars(host=inventory.get_host("l2"))["port"] == 10201


def fails_with(capsys, path):
    """Loading stops Ansible (SystemExit) with errors on stderr: their text, in one line."""
    with pytest.raises(SystemExit) as stop:
        load(path)
    assert stop.value.code == 1
    return " ".join(capsys.readouterr().err.split())


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path, capsys):
    text = CLUSTER.replace("interval: 1s, config", "intervall: 1s, config")
    error = fails_with(capsys, inline(tmp_path, text))
    assert "hpc.ldms.cluster" in error and "plugins.meminfo1" in error and "intervall" in error
    assert "interval" in error.split("intervall", 1)[1], "did you mean interval"


def test_ldms_strict_false_turns_unknown_keys_into_warnings(tmp_path, capsys):
    text = CLUSTER.replace("interval: 1s, config", "intervall: 1s, config")
    inventory, _variables, _loader = load(inline(tmp_path, text, options="ldms_strict: false\n"))
    assert members(inventory, "ldms_samplers") == SAMPLERS
    warnings = " ".join(capsys.readouterr().err.split())
    assert "intervall" in warnings and "[ERROR]" not in warnings


def test_ldms_strict_false_in_the_cluster_file_of_ldms_config_applies(tmp_path, capsys):
    text = CLUSTER.replace("interval: 1s, config", "intervall: 1s, config")
    (tmp_path / "ldms.yaml").write_text("ldms_strict: false\n" + text)
    path = tmp_path / "inventory.yaml"
    path.write_text("plugin: hpc.ldms.cluster\nldms_config: ldms.yaml\n")
    inventory, _variables, _loader = load(str(path))
    assert members(inventory, "ldms_samplers") == SAMPLERS
    assert "intervall" in capsys.readouterr().err


def test_bad_value_is_one_error_naming_the_file_and_yaml_path(tmp_path, capsys):
    path = inline(tmp_path, CLUSTER.replace("reconnect: 1s, type: active,\n         updaters: [{interval: 1s, offset: 100ms}]",
                                            "reconnect: often, type: active,\n         updaters: [{interval: 1s, offset: 100ms}]"))
    error = fails_with(capsys, path)
    assert error.count("[ERROR]") == 1, error
    assert path in error and "aggregators[0].peers[0].reconnect" in error and "often" in error


def test_yaml_syntax_error_names_the_file(tmp_path, capsys):
    path = tmp_path / "inventory.yaml"
    path.write_text("plugin: hpc.ldms.cluster\ndaemons: [\n")
    error = fails_with(capsys, str(path))
    assert str(path) in error and "[ERROR]" in error


def test_missing_ldms_config_names_it(tmp_path, capsys):
    path = tmp_path / "inventory.yaml"
    path.write_text("plugin: hpc.ldms.cluster\nldms_config: nowhere.yaml\n")
    error = fails_with(capsys, str(path))
    assert "nowhere.yaml" in error


SAVED_STATE = {"version": 1, "failures": {}, "sampler_configs": {}, "sampler_digests": {},
               "assignments": {"l1-[1-2]": {"samp-1-ep": "l1-2", "samp-2-ep": "l1-2", "samp-3-ep": "l1-2",
                                            "samp-4-ep": "l1-2"}}}


def saved_state_dir(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "reconcile-state.json").write_text(json.dumps(SAVED_STATE))
    return state_dir


@pytest.mark.parametrize("how", ["option", "vars", "environment"])
def test_saved_assignment_chooses_the_producers(tmp_path, monkeypatch, how):
    state_dir = saved_state_dir(tmp_path)
    options = {"option": "state_dir: %s\n" % state_dir, "vars": "vars: {ldms_state_dir: %s}\n" % state_dir,
               "environment": ""}[how]
    if how == "environment":
        monkeypatch.setenv("HPC_LDMS_STATE_DIR", str(state_dir))
    inventory, variables, loader = load(inline(tmp_path, options=options))
    assert producer_names(plan_of(inventory, variables, loader, "l1-1")) == []
    assert producer_names(plan_of(inventory, variables, loader, "l1-2")) == [
        "samp-1-ep", "samp-2-ep", "samp-3-ep", "samp-4-ep"]


def test_config_files_keep_the_cluster_files_balance_under_a_saved_assignment(tmp_path, monkeypatch):
    """The file (boot) stays as first deployed; only the live objects follow the reconcile."""
    monkeypatch.delenv("HPC_LDMS_STATE_DIR", raising=False)
    (tmp_path / "empty").mkdir()
    fresh = load(inline(tmp_path, options="state_dir: %s\n" % (tmp_path / "empty"), name="fresh.yaml"))
    saved = load(inline(tmp_path, options="state_dir: %s\n" % saved_state_dir(tmp_path)))
    for name in ("l1-1", "l1-2"):
        static, moved = plan_of(*fresh, name), plan_of(*saved, name)
        assert "boot" not in static
        assert producer_names(moved["boot"]) == producer_names(static) != producer_names(moved)
        assert moved["boot"]["prelude"] == moved["prelude"]
    assert "boot" not in plan_of(*saved, "samp-1")  # nothing moved there


def test_without_saved_state_the_fresh_balance_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("HPC_LDMS_STATE_DIR", raising=False)
    (tmp_path / "empty").mkdir()
    inventory, variables, loader = load(inline(tmp_path, options="state_dir: %s\n" % (tmp_path / "empty")))
    assert len(producer_names(plan_of(inventory, variables, loader, "l1-1"))) == 2


def unusable_state(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "reconcile-state.json").write_text('{"assignments": {"l1-[1-2]": ["samp-1-ep"]}}')
    return state_dir


def test_unusable_saved_state_falls_back_to_the_fresh_balance_and_stays(tmp_path):
    state_dir = unusable_state(tmp_path)
    inventory, variables, loader = load(inline(tmp_path, options="state_dir: %s\n" % state_dir))
    # The reconcile would start from the cluster file alone: so do the plans.
    assert len(producer_names(plan_of(inventory, variables, loader, "l1-1"))) == 2
    assert (state_dir / "reconcile-state.json").exists(), "an inventory only reads the state"


def test_unusable_saved_state_is_reported(tmp_path, capsys):
    state_dir = unusable_state(tmp_path)
    load(inline(tmp_path, options="state_dir: %s\n" % state_dir))
    warnings = " ".join(capsys.readouterr().err.split())
    assert "reconcile-state.json" in warnings and "not a mapping of producer to aggregator" in warnings


@pytest.mark.parametrize("text, claimed", [
    (CLUSTER, True),  # without the plugin key: parse() says it is missing
    ("plugin: hpc.ldms.cluster\n" + CLUSTER, True),
    ("plugin: cluster  # short name\n" + CLUSTER, True),
    ("damons:\n  - names: a\n", True),  # misspelt: this plugin's error names the key
    ("# Molecule managed\n---\nall:\n  hosts:\n    x: {}\n", False),  # Ansible's YAML inventory
    ("plugin: amazon.aws.aws_ec2\nregions: [x]\n", False),  # another plugin's file
])
def test_verify_file_leaves_other_inventories_to_their_plugins(tmp_path, text, claimed):
    path = tmp_path / "source.yml"
    path.write_text(text)
    assert inventory_loader.get("hpc.ldms.cluster").verify_file(str(path)) is claimed


def test_a_directory_with_a_cluster_file_and_a_yaml_inventory_loads_both(tmp_path):
    inline(tmp_path, name="cluster.yaml")
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    cluster-mgmt: {ansible_connection: local}\n")
    inventory, _variables, _loader = load(str(tmp_path))
    assert "cluster-mgmt" in [host.name for host in inventory.get_hosts()]
    assert sorted(members(inventory, "ldms_samplers")) == SAMPLERS


def test_render_writes_the_cluster_files_balance_under_a_saved_assignment(tmp_path, monkeypatch):
    """hpc.ldms.render and the ldmsd role write the same files, whatever the reconcile moved."""
    from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import daemon_config_text
    from ansible_collections.hpc.ldms.plugins.module_utils.render.plan_cache import loaded_cluster

    monkeypatch.delenv("HPC_LDMS_STATE_DIR", raising=False)
    path = inline(tmp_path)
    loaded = loaded_cluster(path)
    static = {name: daemon_config_text(loaded.planner.plan(name), path) for name in ("l1-1", "l1-2")}
    loaded.use_assignments(SAVED_STATE["assignments"])
    assert loaded.planner.plan("l1-1").producers == []  # the live plan follows the reconcile
    assert {name: daemon_config_text(loaded.boot_planner.plan(name), path) for name in static} == static
