"""The live-configuration modules against ldmsd: real LDMS 4.5.3 where installed, else the simulator."""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import LDMSD, PREFIX, free_ports, ldms_env  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/hpc.ldms.ldmsd: {{host: 127.0.0.1, port: {agg}, ldms_prefix: "{prefix}"}}
  tasks:
    - hpc.ldms.ldmsd_producers:
        config:
          - {{name: samp, host: 127.0.0.1, port: {samp}, type: active, reconnect: {reconnect}}}
          - {{name: ghost, host: 127.0.0.1, port: {ghost}, type: active, reconnect: 20s}}
      register: producers
    - hpc.ldms.ldmsd_updaters:
        config:
          - {{name: all, interval: {interval}, offset: 100ms, producers: ["^samp$"]}}
      register: updaters
    - hpc.ldms.ldmsd_storage_policies:
        config:
          - {{name: csv-meminfo, plugin: csv, container: store, schema: meminfo, flush: 1s,
             plugin_config: {{plugin: store_csv, path: "{csv}", buffer: 0}}}}
      register: stores
    - hpc.ldms.ldmsd_advertisers:
        port: {samp}
        config:
          - {{name: samp-to-agg, host: 127.0.0.1, port: {agg}, reconnect: 2s}}
      register: advertisers
    - hpc.ldms.ldmsd_prdcr_listeners:
        config:
          - {{name: listen, regex: "^nothing-matches$", reconnect: 2s}}
      register: listeners
    - hpc.ldms.ldmsd_info:
      register: info
    - check_mode: false
      ansible.builtin.copy:
        content: "{{{{ {{'producers': producers, 'updaters': updaters, 'stores': stores, 'info': info,
                       'advertisers': advertisers, 'listeners': listeners}} | to_json }}}}"
        dest: "{out}"
"""


@pytest.fixture()
def cluster(tmp_path):
    samp, agg, ghost = free_ports(3)
    (tmp_path / "samp.conf").write_text("load name=meminfo plugin=meminfo\nconfig name=meminfo producer=samp "
                                        "instance=samp/meminfo\nstart name=meminfo interval=1000000\n")
    env = ldms_env()
    daemons = [subprocess.Popen([LDMSD, "-F", "-x", "sock:%d" % samp, "-c", str(tmp_path / "samp.conf"),
                                 "-l", str(tmp_path / "samp.log")], env=env, stdin=subprocess.DEVNULL),
               subprocess.Popen([LDMSD, "-F", "-x", "sock:%d" % agg, "-l", str(tmp_path / "agg.log")], env=env,
                                stdin=subprocess.DEVNULL)]
    time.sleep(1.5)
    collections = tmp_path / "collections" / "ansible_collections" / "hpc"
    collections.mkdir(parents=True)
    os.symlink(REPO, collections / "ldms")
    env.update(ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
    yield {"samp": samp, "agg": agg, "ghost": ghost, "env": env, "tmp": tmp_path}
    for daemon in daemons:
        daemon.kill()
        daemon.wait()


def converge(cluster, *args, reconnect="1s", interval="1s"):
    out = cluster["tmp"] / "result.json"
    play = cluster["tmp"] / "play.yml"
    play.write_text(PLAY.format(agg=cluster["agg"], samp=cluster["samp"], ghost=cluster["ghost"], prefix=PREFIX,
                                reconnect=reconnect, interval=interval, out=out,
                                csv=cluster["tmp"] / "csv"))
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), *args], env=cluster["env"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(out.read_text())


def test_configure_from_nothing_then_nothing_to_do(cluster):
    predicted = converge(cluster, "--check")
    first = converge(cluster)
    assert first["producers"]["changed"] and first["updaters"]["changed"]
    assert predicted["producers"]["commands"] == first["producers"]["commands"]
    assert first["producers"]["commands"][0].startswith("prdcr_add name=samp ")
    second = converge(cluster, "--diff")
    assert not second["producers"]["changed"] and second["producers"]["commands"] == []
    assert not second["updaters"]["changed"] and second["updaters"]["commands"] == []
    assert first["stores"]["commands"][0] == "load name=csv plugin=store_csv"
    assert not second["stores"]["changed"] and second["stores"]["commands"] == []
    assert first["advertisers"]["commands"][0].endswith("type=advertiser") and first["listeners"]["changed"]
    assert second["advertisers"]["commands"] == [] and second["listeners"]["commands"] == []
    info = second["info"]
    assert info["version"]["LDMSD Version"] == "4.5.3" and info["daemon_status"]["state"] == "ready"
    assert [p["name"] for p in info["producers"]] == ["ghost", "samp"]
    assert [u["name"] for u in info["updaters"]] == ["all"] and info["storage_policies"][0]["name"] == "csv-meminfo"


def test_interval_change_restarts_only_that_updater(cluster):
    converge(cluster)
    changed = converge(cluster, interval="2s")
    assert changed["producers"]["commands"] == []
    assert changed["updaters"]["commands"][:2] == ["updtr_stop name=all", "updtr_del name=all"]
    assert "interval=2000000" in changed["updaters"]["commands"][2]


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
