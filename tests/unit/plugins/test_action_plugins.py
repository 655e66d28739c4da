"""The render_config and grafana_dashboards action plugins, made by Ansible's action loader for a task.

Each run builds a real Task (its args, check and diff flags), a local
connection, a play context, a data loader and a templar, as the task
executor would, and calls the plugin's run().
"""

import json
import os

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import action_loader, connection_loader
from ansible.template import Templar

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "cluster.yaml")
CLUSTER = """daemons:
  - names: "samp-[1-2]"
    hosts: "node-[1-2]"
    endpoints:
      - {names: "samp-[1-2]-ep", ports: 10001}
  - names: agg-1
    hosts: head-1
    endpoints:
      - {names: agg-1-ep, ports: 10101}
aggregators:
  - daemons: agg-1
    peers:
      - {daemons: "samp-[1-2]", endpoints: "samp-[1-2]-ep", reconnect: 1s, type: active,
         updaters: [{interval: 1s, offset: 100ms}]}
samplers:
  - daemons: "samp-[1-2]"
    plugins: [meminfo1]
plugins:
  meminfo1: {name: meminfo, interval: 1s, config: [{schema: meminfo}]}
"""
RENDERED = ["agg-1.conf", "samp-1.conf", "samp-2.conf", "topology.md", "topology.svg"]


def run_action(name, args, check_mode=False, diff=False):
    """What the task executor does for a task of action ``name``: make the plugin, then run it."""
    task = Task()
    task.action = name
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    play_context = PlayContext()
    loader = DataLoader()
    connection = connection_loader.get("ansible.builtin.local", play_context)
    plugin = action_loader.get(name, task=task, connection=connection, play_context=play_context, loader=loader,
                               templar=Templar(loader=loader), shared_loader_obj=None)
    assert plugin is not None, name
    return plugin.run(task_vars={})


@pytest.fixture()
def cluster_file(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER)
    return str(path)


# -- render_config ---------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    ({"src": "c.yaml"}, ["dest"]),
    ({"dest": "out"}, ["src"]),
    ({"src": "c.yaml", "dest": "out", "prune": "perhaps"}, ["prune", "perhaps"]),
    ({"src": "c.yaml", "dest": "out", "prunee": True}, ["prunee"]),
])
def test_render_arguments_are_checked(args, words):
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.render_config", args)
    for word in words:
        assert word in str(failed.value), (word, str(failed.value))


def test_render_check_mode_writes_nothing(cluster_file, tmp_path):
    dest = tmp_path / "out"
    result = run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(dest)}, check_mode=True)
    assert result["changed"] and result["written"] == len(RENDERED) and result["unchanged"] == 0
    assert result["source"] == cluster_file and "diff" not in result
    assert not dest.exists()


def test_render_check_mode_diff_compares_with_the_files_on_disk(cluster_file, tmp_path):
    dest = tmp_path / "out"
    run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(dest)})
    before = (dest / "agg-1.conf").read_text()
    with open(cluster_file, "w", encoding="utf-8") as stream:
        stream.write(CLUSTER.replace("reconnect: 1s", "reconnect: 5s"))
    result = run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(dest)}, check_mode=True, diff=True)
    # The samplers' files and the topology stay as they are.
    assert result["changed"] and result["written"] == 1 and result["unchanged"] == len(RENDERED) - 1
    [diff] = result["diff"]
    assert diff["before_header"] == diff["after_header"] == str(dest / "agg-1.conf")
    assert diff["before"] == before and "reconnect=1000000" in before
    assert "reconnect=5000000" in diff["after"] and "reconnect=1000000" not in diff["after"]
    assert (dest / "agg-1.conf").read_text() == before


def test_render_writes_once_then_nothing_changes(cluster_file, tmp_path):
    dest = tmp_path / "out"
    first = run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(dest)}, diff=True)
    assert first["changed"] and first["written"] == len(RENDERED) and first["removed"] == []
    assert sorted(os.listdir(dest)) == RENDERED
    shown = {entry["after_header"]: entry["after"] for entry in first["diff"]}
    assert sorted(shown) == RENDERED and shown["agg-1.conf"] == (dest / "agg-1.conf").read_text()
    assert "prdcr_add name=samp-1-ep" in (dest / "agg-1.conf").read_text()
    assert any("2 samplers" in line or "3 daemons" in line for line in first["summary"]), first["summary"]
    second = run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(dest)}, diff=True)
    assert not second["changed"] and second["written"] == 0 and second["unchanged"] == len(RENDERED)
    assert "diff" not in second


def test_render_prunes_the_config_of_a_daemon_that_left(cluster_file, tmp_path):
    dest = tmp_path / "out"
    run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(dest)})
    with open(cluster_file, "w", encoding="utf-8") as stream:
        stream.write(CLUSTER.replace("samp-[1-2]", "samp-1").replace("node-[1-2]", "node-1"))
    smaller = cluster_file
    predicted = run_action("hpc.ldms.render_config", {"src": smaller, "dest": str(dest)}, check_mode=True,
                           diff=True)
    assert predicted["changed"] and predicted["removed"] == ["samp-2.conf"]
    assert {entry["after_header"]: entry["after"] for entry in predicted["diff"]}[str(dest / "samp-2.conf")] == ""
    assert (dest / "samp-2.conf").exists()
    kept = run_action("hpc.ldms.render_config", {"src": smaller, "dest": str(dest), "prune": False})
    assert kept["removed"] == [] and (dest / "samp-2.conf").exists()
    pruned = run_action("hpc.ldms.render_config", {"src": smaller, "dest": str(dest)})
    assert pruned["removed"] == ["samp-2.conf"] and not (dest / "samp-2.conf").exists()


def test_render_bad_cluster_file_fails_naming_the_yaml_path_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLUSTER.replace("ports: 10101", "ports: 10101x"))
    dest = tmp_path / "out"
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.render_config", {"src": str(bad), "dest": str(dest)})
    message = str(failed.value)
    assert "daemons[1].endpoints[0].ports" in message and "10101x" in message
    assert not dest.exists()


def test_render_unwritable_dest_fails_saying_where(cluster_file, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.render_config", {"src": cluster_file, "dest": str(blocker / "out")})
    assert "cannot write into %s" % (blocker / "out") in str(failed.value)


# -- grafana_dashboards ------------------------------------------------------------------

def test_dashboards_arguments_are_checked(tmp_path):
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.grafana_dashboards", {"dest": str(tmp_path)})
    assert "src" in str(failed.value)
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "datasource_uid": ""})
    assert "datasource_uid" in str(failed.value)
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "colour": "blue"})
    assert "colour" in str(failed.value)


def test_dashboards_without_dest_are_returned_only():
    result = run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE})
    assert not result["changed"] and result["source"] == EXAMPLE and "written" not in result
    names = sorted(result["dashboards"])
    assert names and all(name.startswith("hpc-ldms-") and name.endswith(".json") for name in names)
    for name, text in result["dashboards"].items():
        assert json.loads(text)["uid"] + ".json" == name


def test_dashboards_check_mode_then_write_then_nothing(tmp_path):
    dest = tmp_path / "dashboards"
    predicted = run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "dest": str(dest)}, check_mode=True,
                           diff=True)
    names = sorted(predicted["dashboards"])
    assert predicted["changed"] and predicted["written"] == names and predicted["removed"] == []
    assert [entry["after_header"] for entry in predicted["diff"]] == names
    assert predicted["diff"][0]["after"] == predicted["dashboards"][names[0]]
    assert not dest.exists()
    written = run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "dest": str(dest)})
    assert written["changed"] and sorted(os.listdir(dest)) == names
    assert (dest / names[0]).read_text() == written["dashboards"][names[0]]
    again = run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "dest": str(dest)}, diff=True)
    assert not again["changed"] and again["written"] == [] and "diff" not in again


def test_dashboards_prune_only_generated_files(tmp_path):
    dest = tmp_path / "dashboards"
    dest.mkdir()
    (dest / "hpc-ldms-old.json").write_text("{}")
    (dest / "mine.json").write_text("{}")
    predicted = run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "dest": str(dest)}, check_mode=True)
    assert predicted["removed"] == ["hpc-ldms-old.json"] and (dest / "hpc-ldms-old.json").exists()
    run_action("hpc.ldms.grafana_dashboards", {"src": EXAMPLE, "dest": str(dest)})
    assert not (dest / "hpc-ldms-old.json").exists() and (dest / "mine.json").exists()


def test_dashboards_bad_cluster_file_fails_naming_the_yaml_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLUSTER.replace("ports: 10101", "ports: 10101x"))
    with pytest.raises(AnsibleActionFail) as failed:
        run_action("hpc.ldms.grafana_dashboards", {"src": str(bad), "dest": str(tmp_path / "out")})
    assert "daemons[1].endpoints[0].ports" in str(failed.value) and "10101x" in str(failed.value)
    assert not (tmp_path / "out").exists()
