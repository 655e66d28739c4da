"""The render playbook and the cluster inventory, run through real ansible-playbook."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "cluster.yaml")
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def ansible_env(tmp_path_factory):
    collections = tmp_path_factory.mktemp("collections")
    (collections / "ansible_collections" / "hpc").mkdir(parents=True)
    os.symlink(REPO, collections / "ansible_collections" / "hpc" / "ldms")
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH="%s:%s" % (collections, env.get("ANSIBLE_COLLECTIONS_PATH", "")),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    return env


def run(env, *args):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


def playbook(env, inventory, dest, *extra):
    return run(env, os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "render.yml"),
               "-i", inventory, "-e", "ldms_config_dir=%s" % dest, *extra)


def plain(value):
    """ansible-inventory marks inventory strings as unsafe; compare their values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def recap_changed(output):
    return int(re.search(r"localhost\s+:.*changed=(\d+)", output).group(1))


def test_render_twice_is_idempotent(ansible_env, tmp_path):
    dest = tmp_path / "out"
    first = playbook(ansible_env, EXAMPLE, dest)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap_changed(first.stdout) == 1
    assert "15 daemons: 10 samplers, 5 aggregators, 3 storage policies" in first.stdout
    assert sorted(os.listdir(dest))[:2] == ["l1-agg-1.conf", "l1-agg-2.conf"]
    assert (dest / "topology.md").exists() and (dest / "topology.svg").read_text().startswith("<svg ")
    before = {name: (dest / name).read_bytes() for name in os.listdir(dest)}
    second = playbook(ansible_env, EXAMPLE, dest)
    assert second.returncode == 0 and recap_changed(second.stdout) == 0
    assert before == {name: (dest / name).read_bytes() for name in os.listdir(dest)}


def test_inventory_pointing_at_an_existing_file(ansible_env, tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "ldms_cfg.yaml")
    inventory = tmp_path / "cluster.yaml"
    inventory.write_text("plugin: hpc.ldms.cluster\nldms_config: ldms_cfg.yaml\nvars:\n  site: test\n"
                         "keyed_groups:\n  - key: ldms_role\n    prefix: role\n")
    listed = run(ansible_env, os.path.join(BIN, "ansible-inventory"), "-i", str(inventory), "--list")
    assert listed.returncode == 0, listed.stderr
    data = plain(json.loads(listed.stdout))
    assert data["ldms_level_1"]["hosts"] == ["l1-agg-1", "l1-agg-2", "l1-agg-3", "l1-agg-4"]
    assert data["ldms_level_2"]["hosts"] == ["l2-agg"]
    assert len(data["ldms_samplers"]["hosts"]) == 10
    assert "ldms_group_l1_agg__1_4_" in data
    assert "sampler-10" in data["role_sampler"]["hosts"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["sampler-10"]["ansible_host"] == "node-10"
    assert hostvars["sampler-10"]["site"] == "test"
    assert hostvars["l1-agg-1"]["ldms_control"] == {"host": "agg-1", "port": 10401, "xprt": "sock", "auth": "munge"}
    assert hostvars["l1-agg-1"]["ldms_groups"] == ["l1-agg-[1-4]"]
    assert hostvars["l2-agg"]["ldms_cluster_file"] == str(tmp_path / "ldms_cfg.yaml")
    # ldms_plan is computed when a task reads it.
    check = tmp_path / "check.yml"
    check.write_text("- hosts: l2-agg\n  gather_facts: false\n  tasks:\n"
                     "    - ansible.builtin.assert:\n        that:\n"
                     "          - ldms_plan.objects.storage_policies[0].name == 'sos-meminfo'\n"
                     "          - hostvars['sampler-10'].ldms_plan.objects.samplers | length > 0\n"
                     "          - ldms_plan.groups == ['l2-agg']\n")
    checked = run(ansible_env, os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(check))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_bad_cluster_file_fails_the_run(ansible_env, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = open(EXAMPLE).read().replace("ports: 10002", "ports: \"[10002-10004]\"")
    bad.write_text(text)
    dest = tmp_path / "out"
    result = playbook(ansible_env, str(bad), dest)
    assert result.returncode != 0
    assert "daemons[0].endpoints[0].ports: 3 ports for 10 endpoint names" in result.stdout + result.stderr
    assert not dest.exists()


def render_without_inventory(env, dest, *extra):
    return run(env, os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "render.yml"),
               "-e", "ldms_config_dir=%s" % dest, *extra)


def test_cluster_file_as_extra_var_without_inventory(ansible_env, tmp_path):
    dest = tmp_path / "out"
    result = render_without_inventory(ansible_env, dest, "-e", "ldms_cluster_file=%s" % EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "17 files written" in result.stdout and (dest / "l2-agg.conf").exists()
    # Neither -i nor the extra variable: one message saying what to give.
    result = render_without_inventory(ansible_env, tmp_path / "none")
    assert result.returncode != 0
    assert "No cluster file: run with -i <cluster.yaml>" in result.stdout and "ldms_cluster_file" in result.stdout
    assert "no element 0" not in result.stdout + result.stderr


def test_check_mode_diff_shows_each_file_and_writes_nothing(ansible_env, tmp_path):
    dest = tmp_path / "out"
    assert playbook(ansible_env, EXAMPLE, dest).returncode == 0
    before = {name: (dest / name).read_text() for name in os.listdir(dest)}
    changed = tmp_path / "changed.yaml"
    # A stale file of an earlier render of the same cluster file.
    stale = before["sampler-1.conf"].replace(os.path.abspath(EXAMPLE), str(changed))
    assert stale != before["sampler-1.conf"]
    (dest / "sampler-99.conf").write_text(stale)
    changed.write_text(open(EXAMPLE).read().replace("ports: 10401", "ports: 10411"))
    result = playbook(ansible_env, str(changed), dest, "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--- before: %s/l1-agg-1.conf" % dest in result.stdout
    assert "-listen xprt=sock port=10401" in result.stdout and "+listen xprt=sock port=10411" in result.stdout
    assert "--- before: %s/sampler-99.conf" % dest in result.stdout  # would be removed
    assert "files would be written" in result.stdout and " files written" not in result.stdout
    assert {name: (dest / name).read_text() for name in os.listdir(dest) if name != "sampler-99.conf"} == before
    assert (dest / "sampler-99.conf").exists()
