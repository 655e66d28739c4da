"""The live-configuration modules against ldmsd: real LDMS 4.5.3 where installed, else the simulator."""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import LDMSD, PREFIX, free_ports, ldms_env, wait_listening  # noqa: E402

from ansible_collections.hpc.ldms.plugins.module_utils.apply import resources  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/hpc.ldms.ldmsd: {{host: 127.0.0.1, port: {agg}, ldms_prefix: "{prefix}"}}
  tasks:
    - hpc.ldms.ldmsd_samplers:
        port: {samp}
        config:
          - {{name: meminfo, interval: {sample}, config: {{producer: samp, instance: samp/meminfo}}}}
          - {{name: vm, plugin: vmstat, interval: 1s, offset: 0, config: {{producer: samp, instance: samp/vmstat}}}}
      register: samplers
    - hpc.ldms.ldmsd_producers:
        config:
          - {{name: samp, host: 127.0.0.1, port: {samp}, type: active, reconnect: {reconnect}}}
          - {{name: ghost, host: 127.0.0.1, port: {ghost}, type: active, reconnect: 20s}}
      register: producers
    - hpc.ldms.ldmsd_updaters:
        config:
          - {{name: all, interval: {interval}, offset: 100ms, producers: ["^samp$"]}}
      register: updaters
    - hpc.ldms.ldmsd_advertisers:
        port: {samp}
        config:
          - {{name: samp-to-agg, host: 127.0.0.1, port: {agg}, reconnect: 2s}}
      register: advertisers
    - hpc.ldms.ldmsd_prdcr_listeners:
        config:
          - {{name: listen, regex: "^nothing-matches$", reconnect: 2s}}
      register: listeners
    - hpc.ldms.ldmsd_producers:
        port: {top}
        config:
          - {{name: l1, host: 127.0.0.1, port: {agg}, type: active, reconnect: 1s}}
      register: top_producers
    - hpc.ldms.ldmsd_updaters:
        port: {top}
        config:
          - {{name: from-l1, interval: 1s, producers: [".*"]}}
      register: top_updaters
    - hpc.ldms.ldmsd_storage_policies:
        port: {top}
        config:
          - {{name: csv-meminfo, plugin: csv, container: store, schema: meminfo, flush: 1s,
             plugin_config: {{plugin: store_csv, path: "{csv}", buffer: 0}}}}
      register: stores
    - hpc.ldms.ldmsd_info:
      register: info
    - check_mode: false
      ansible.builtin.copy:
        content: "{{{{ {{'samplers': samplers, 'producers': producers, 'updaters': updaters, 'stores': stores,
                       'info': info, 'advertisers': advertisers, 'listeners': listeners,
                       'top_producers': top_producers, 'top_updaters': top_updaters}} | to_json }}}}"
        dest: "{out}"
"""
MODULE_RESULTS = ("samplers", "producers", "updaters", "advertisers", "listeners", "top_producers", "top_updaters",
                  "stores")


@pytest.fixture()
def cluster(tmp_path):
    """Three bare daemons: a sampler, an L1 and an L2; nothing configured."""
    samp, agg, top, ghost = free_ports(4)
    env = ldms_env()
    daemons = [subprocess.Popen([LDMSD, "-F", "-x", "sock:%d" % port, "-l", str(tmp_path / ("%s.log" % role))],
                                env=env, stdin=subprocess.DEVNULL)
               for role, port in (("samp", samp), ("agg", agg), ("top", top))]
    for daemon, port in zip(daemons, (samp, agg, top)):
        wait_listening(port, daemon)
    collections = tmp_path / "collections" / "ansible_collections" / "hpc"
    collections.mkdir(parents=True)
    os.symlink(REPO, collections / "ldms")
    env.update(ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
    yield {"samp": samp, "agg": agg, "top": top, "ghost": ghost, "env": env, "tmp": tmp_path}
    for daemon in daemons:
        daemon.kill()
        daemon.wait()


def converge(cluster, *args, reconnect="1s", interval="1s", sample="1s"):
    out = cluster["tmp"] / "result.json"
    play = cluster["tmp"] / "play.yml"
    play.write_text(PLAY.format(agg=cluster["agg"], samp=cluster["samp"], top=cluster["top"], ghost=cluster["ghost"],
                                prefix=PREFIX, reconnect=reconnect, interval=interval, sample=sample, out=out,
                                csv=cluster["tmp"] / "csv"))
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), *args], env=cluster["env"],
                         capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(out.read_text())
    result["stdout"], result["stderr"] = run.stdout, run.stderr
    return result


def client(port):
    return LdmsdClient(port=port, host="127.0.0.1", ldms_prefix=PREFIX)


def wait_for(predicate, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


def sets_at(port):
    """Set instance names a daemon holds from its producers (prdcr_set_status)."""
    top = client(port)
    try:
        return sorted(s["inst_name"] for s in top.status("prdcr_set_status") if s.get("state") == "READY")
    finally:
        top.close()


def test_configure_from_nothing_then_nothing_to_do(cluster):
    predicted = converge(cluster, "--check")
    first = converge(cluster)
    for name in MODULE_RESULTS:
        assert first[name]["changed"], name
        assert predicted[name]["commands"] == first[name]["commands"], name
    assert first["samplers"]["commands"] == [
        "load name=meminfo plugin=meminfo", "config name=meminfo producer=samp instance=samp/meminfo",
        "start name=meminfo interval=1000000",
        "load name=vm plugin=vmstat", "config name=vm producer=samp instance=samp/vmstat",
        "start name=vm interval=1000000 offset=0"]
    assert first["producers"]["commands"][0].startswith("prdcr_add name=samp ")
    assert first["stores"]["commands"][0] == "load name=csv plugin=store_csv"
    assert first["advertisers"]["commands"][0].endswith("type=advertiser")
    # Every sampler set reaches the L2 through the L1.
    assert wait_for(lambda: sets_at(cluster["top"]) == ["samp/meminfo", "samp/vmstat"]), sets_at(cluster["top"])
    second = converge(cluster, "--diff")
    for name in MODULE_RESULTS:
        assert not second[name]["changed"] and second[name]["commands"] == [], (name, second[name]["commands"])
        assert "before" in second[name]["diff"] and "after" in second[name]["diff"], name
    info = second["info"]
    assert info["version"]["LDMSD Version"] == "4.5.3" and info["daemon_status"]["state"] == "ready"
    assert [p["name"] for p in info["producers"]] == ["ghost", "samp"]
    assert [u["name"] for u in info["updaters"]] == ["all"]


def test_check_mode_predicts_the_commands_and_diff_is_shown(cluster):
    converge(cluster)
    predicted = converge(cluster, "--check", "--diff", interval="3s", sample="2s")
    assert predicted["updaters"]["changed"] and predicted["samplers"]["changed"]
    assert "interval" in predicted["stdout"] and "--- before" in predicted["stdout"]
    # --diff prints a unified diff of config lines, one object after another.
    assert "-updtr_add name=all interval=1000000 offset=100000\n" in predicted["stdout"], predicted["stdout"]
    assert "+updtr_add name=all interval=3000000 offset=100000\n" in predicted["stdout"], predicted["stdout"]
    assert "splitlines" not in predicted["stdout"] and "splitlines" not in predicted["stderr"]
    applied = converge(cluster, interval="3s", sample="2s")
    for name in MODULE_RESULTS:
        assert predicted[name]["commands"] == applied[name]["commands"], name
        assert predicted[name]["after"] == applied[name]["after"] or name == "samplers", name


def test_interval_change_restarts_only_that_updater_or_sampler_instance(cluster):
    converge(cluster)
    changed = converge(cluster, interval="2s", sample="2s")
    for name in ("producers", "advertisers", "listeners", "top_producers", "top_updaters", "stores"):
        assert changed[name]["commands"] == [], name
    assert changed["updaters"]["commands"] == [
        "updtr_stop name=all", "updtr_del name=all", "updtr_add name=all interval=2000000 offset=100000",
        "updtr_prdcr_add name=all regex=^samp$", "updtr_start name=all"]
    # The sampler instance keeps its config: only its schedule changes.
    assert changed["samplers"]["commands"] == ["stop name=meminfo", "start name=meminfo interval=2000000"]
    again = converge(cluster, interval="2s", sample="2s")
    assert again["samplers"]["commands"] == [] and again["updaters"]["commands"] == []


def test_membership_change_keeps_the_updater(cluster):
    converge(cluster)
    agg = client(cluster["agg"])
    try:
        facts = KINDS["updaters"].facts(agg)
        names = list(KINDS["producers"].facts(agg))
        wider = resources.normalize_config("updaters", [{"name": "all", "interval": "1s", "offset": "100ms",
                                                         "producers": ["^samp$", "^ghost$"],
                                                         "sets": [{"regex": "meminfo", "field": "schema"}]}])
        plan = resources.plan_changes("updaters", "merged", wider, facts, producer_names=names)
        assert [c.text() for c in plan.commands] == [
            "updtr_stop name=all", "updtr_prdcr_add name=all regex=^ghost$",
            "updtr_match_add name=all regex=meminfo match=schema", "updtr_start name=all"]
        resources.apply_commands(agg, plan.commands)
        again = resources.plan_changes("updaters", "merged", wider, KINDS["updaters"].facts(agg),
                                       producer_names=names)
        assert again.commands == []
        assert KINDS["updaters"].facts(agg)["all"]["item"]["sets"] == [{"regex": "meminfo", "field": "schema"}]
    finally:
        agg.close()


def add_spare_producer(port):
    """A producer that was never started: the only kind ldmsd 4.5.3 can delete."""
    agg = client(port)
    try:
        assert agg.request("prdcr_add", [("name", "spare"), ("host", "127.0.0.1"), ("port", "1"), ("xprt", "sock"),
                                         ("type", "active"), ("reconnect", "1000000")]) == (0, None)
    finally:
        agg.close()


def test_overridden_leaves_objects_outside_the_scope_alone(cluster):
    converge(cluster)
    add_spare_producer(cluster["agg"])
    agg = client(cluster["agg"])
    try:
        facts = KINDS["producers"].facts(agg)
        wanted = resources.normalize_config("producers", [
            {"name": "samp", "host": "127.0.0.1", "port": cluster["samp"], "type": "active", "reconnect": "1s"}])
        plan = resources.plan_changes("producers", "overridden", wanted, facts, scope="^sp")
        assert [c.text() for c in plan.commands] == ["prdcr_del name=spare"]
        resources.apply_commands(agg, plan.commands)
        assert sorted(KINDS["producers"].facts(agg)) == ["ghost", "samp"]
        assert KINDS["updaters"].facts(agg)["all"]["running"]
    finally:
        agg.close()


def test_failing_command_reports_what_was_applied(cluster, tmp_path):
    converge(cluster)
    add_spare_producer(cluster["agg"])
    play = tmp_path / "fail.yml"
    # samp was started and is held by the running updater "all": ldmsd refuses to delete it.
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - hpc.ldms.ldmsd_producers:\n"
                    "        port: %d\n        host: 127.0.0.1\n        ldms_prefix: %s\n        state: deleted\n"
                    "        config: [{name: spare, host: 127.0.0.1, port: 1, reconnect: 1s},\n"
                    "                 {name: samp, host: 127.0.0.1, port: 1, reconnect: 1s}]\n"
                    % (cluster["agg"], PREFIX))
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), "-v"], env=cluster["env"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "prdcr_del name=samp failed: errcode 16: The producer is in use." in run.stdout, run.stdout
    assert '"applied": [' in run.stdout
    assert '"prdcr_del name=spare"' in run.stdout and '"prdcr_stop name=samp"' in run.stdout


def test_unreachable_daemon_is_a_clear_error(cluster, tmp_path):
    play = tmp_path / "down.yml"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - hpc.ldms.ldmsd_producers:\n"
                    "        port: %d\n        host: 127.0.0.1\n        ldms_prefix: %s\n        state: gathered\n"
                    % (free_ports(1)[0], PREFIX))
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play)], env=cluster["env"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "Is ldmsd running and listening there?" in run.stdout


ROUND_TRIP = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/hpc.ldms.ldmsd: {{host: 127.0.0.1, port: {agg}, ldms_prefix: "{prefix}"}}
  tasks:
    - hpc.ldms.ldmsd_producers: {{state: gathered}}
      register: producers
    - hpc.ldms.ldmsd_updaters: {{state: gathered}}
      register: updaters
    - hpc.ldms.ldmsd_producers: {{state: overridden, scope: ".*", config: "{{{{ producers.gathered }}}}"}}
      register: producers_again
    - hpc.ldms.ldmsd_updaters: {{state: overridden, scope: ".*", config: "{{{{ updaters.gathered }}}}"}}
      register: updaters_again
    - check_mode: false
      ansible.builtin.copy:
        content: "{{{{ [producers_again, updaters_again] | to_json }}}}"
        dest: "{out}"
"""


def test_gathered_fed_back_as_overridden_changes_nothing(cluster):
    converge(cluster)
    out = cluster["tmp"] / "round.json"
    play = cluster["tmp"] / "round.yml"
    play.write_text(ROUND_TRIP.format(agg=cluster["agg"], prefix=PREFIX, out=out))
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play)], env=cluster["env"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    producers, updaters = json.loads(out.read_text())
    assert producers["changed"] is False and producers["commands"] == []
    assert updaters["changed"] is False and updaters["commands"] == []


def run_task(cluster, task, *args):
    """One task on localhost; the ansible-playbook run and the task's registered result."""
    out = cluster["tmp"] / "task.json"
    if out.exists():
        out.unlink()
    play = cluster["tmp"] / "task.yml"
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - %s\n      register: result\n"
                    "      ignore_errors: true\n    - check_mode: false\n      ansible.builtin.copy:\n"
                    "        content: \"{{ result | to_json }}\"\n        dest: %s\n" % (task, out))
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), *args], env=cluster["env"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return run, json.loads(out.read_text())


def test_info_query_answers_a_question(cluster):
    converge(cluster)
    task = ("hpc.ldms.ldmsd_info: {host: 127.0.0.1, port: %d, ldms_prefix: %s, query: \"%s\"}"
            % (cluster["agg"], PREFIX, "producers[?state!='CONNECTED'].name"))
    _run, result = run_task(cluster, task)
    # ghost points at a port nobody listens on.
    assert result["query_result"] == ["ghost"] and "producers" not in result, result
    _run, result = run_task(cluster, task.replace("producers[?state!='CONNECTED'].name", "length(sets)"))
    assert result["query_result"] == 2, result
    _run, result = run_task(cluster, task.replace("producers[?state!='CONNECTED'].name", "producers[?"))
    assert result["failed"] and "query 'producers[?' is not a valid JMESPath expression" in result["msg"], result


def test_check_mode_predicts_a_daemon_not_started_yet_from_scratch(cluster):
    down = free_ports(1)[0]
    task = ("hpc.ldms.ldmsd_producers: {host: 127.0.0.1, port: %d, ldms_prefix: %s, predict_absent: true, "
            "config: [{name: samp, host: 127.0.0.1, port: %d, reconnect: 1s}]}" % (down, PREFIX, cluster["samp"]))
    run, predicted = run_task(cluster, task, "--check", "--diff")
    assert not predicted.get("failed") and predicted["changed"], predicted
    assert predicted["commands"] == ["prdcr_add name=samp host=127.0.0.1 port=%d xprt=sock type=active reconnect=1000000"
                                     % cluster["samp"],
                                     "prdcr_start name=samp"]
    assert "predicted from scratch" in run.stderr + run.stdout
    assert "+prdcr_add name=samp" in run.stdout
    # Without the option, or outside check mode, an unreachable daemon stays an error.
    _run, refused = run_task(cluster, task.replace("predict_absent: true", "predict_absent: false"), "--check")
    assert refused["failed"] and "Is ldmsd running and listening there?" in refused["msg"], refused
    _run, real = run_task(cluster, task)
    assert real["failed"] and "Is ldmsd running and listening there?" in real["msg"], real
    # A reachable daemon is read as usual, even with the option.
    _run, live = run_task(cluster, task.replace("port: %d, ldms_prefix" % down, "port: %d, ldms_prefix" % cluster["agg"]),
                          "--check")
    assert live["changed"] and not live.get("warnings"), live
