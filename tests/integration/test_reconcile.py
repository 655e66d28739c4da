"""The reconcile playbook on 8 samplers, 3 L1 and 1 L2 with a store: real LDMS 4.5.3 where installed, else the simulator.

Mirrors the LDMS project's own maestro test: converge from bare daemons, kill
an L1, restart it bare, and check what moved and what was left alone.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
sys.path.insert(0, os.path.dirname(__file__))
from etcd_cluster import EtcdCluster, wait_for_quorum  # noqa: E402
from harness import LDMSD, PREFIX, free_ports, ldms_env  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)

CLUSTER = """plugin: hpc.ldms.cluster
daemons:
  - names: "samp-[1-8]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "samp-[1-8]-ep", ports: "{samplers}"}}
  - names: "l1-[1-3]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "l1-[1-3]-ep", ports: "{l1}"}}
  - names: l2
    hosts: 127.0.0.1
    endpoints:
      - {{names: l2-ep, ports: {l2}}}
aggregators:
  - daemons: "l1-[1-3]"
    peers:
      - {{daemons: "samp-[1-8]", endpoints: "samp-[1-8]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 100ms, mode: pull}}]}}
  - daemons: l2
    peers:
      - {{daemons: "l1-[1-3]", endpoints: "l1-[1-3]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 200ms}}]}}
samplers:
  - daemons: "samp-[1-8]"
    plugins: [meminfo1]
plugins:
  meminfo1: {{name: meminfo, interval: {interval}, config: [{{schema: meminfo}}]}}
  csv: {{name: store_csv, config: [{{path: "{csv}", buffer: 0}}]}}
stores:
  csv-meminfo: {{daemons: l2, plugin: csv, container: store, schema: meminfo, flush: 1s}}
"""
SAMPLERS = ["samp-%d" % i for i in range(1, 9)]
L1 = ["l1-1", "l1-2", "l1-3"]
ALL_SETS = sorted("samp-%d/meminfo1" % i for i in range(1, 9))


class Cluster:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        ports = free_ports(12)
        self.ports = dict(zip(SAMPLERS + L1 + ["l2"], ports))
        self.env = ldms_env()
        self.processes = {}
        collections = tmp_path / "collections" / "ansible_collections" / "hpc"
        collections.mkdir(parents=True)
        os.symlink(REPO, collections / "ldms")
        self.env.update(ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1")
        self.state = tmp_path / "state"
        self.write(interval="1s")

    def write(self, interval):
        (self.tmp / "cluster.yaml").write_text(CLUSTER.format(
            samplers=",".join(str(self.ports[n]) for n in SAMPLERS), l1=",".join(str(self.ports[n]) for n in L1),
            l2=self.ports["l2"], interval=interval, csv=self.tmp / "csv"))

    def start(self, name):
        self.processes[name] = subprocess.Popen(
            [LDMSD, "-F", "-x", "sock:%d" % self.ports[name], "-l", str(self.tmp / ("%s.log" % name))],
            env=self.env, stdin=subprocess.DEVNULL)

    def kill(self, name):
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def reconcile(self, *extra, expect_failure=False):
        run = subprocess.run([os.path.join(BIN, "ansible-playbook"), "hpc.ldms.reconcile", "-i",
                              str(self.tmp / "cluster.yaml"), "-e", "ldms_state_dir=%s" % self.state,
                              "-e", "ldms_probe_timeout=2", *extra],
                             env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if expect_failure:
            assert run.returncode != 0, run.stdout
            return run
        assert run.returncode == 0, run.stdout + run.stderr
        report = json.loads((self.state / "reconcile-report.json").read_text())
        report["stdout"] = run.stdout
        return report

    def assignment(self):
        state = json.loads((self.state / "reconcile-state.json").read_text())
        return state["assignments"]["l1-[1-3]"]

    def stop(self):
        for name in list(self.processes):
            self.kill(name)


@pytest.fixture()
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    for name in SAMPLERS + L1 + ["l2"]:
        cluster.start(name)
    time.sleep(1.5)
    yield cluster
    cluster.stop()


def producer_commands(report, daemon):
    return [c for c in report["commands"].get(daemon, []) if c.split()[0].startswith("prdcr_")]


def test_converge_failover_return_and_no_op(cluster):
    # 1. From bare daemons: everything configured, every set at the L2.
    first = cluster.reconcile()
    assert first["changed"] and first["missing_sets"] == [], first["missing_sets"]
    assert sorted(first["reconfigured"]) == sorted(SAMPLERS + L1 + ["l2"])
    assert first["dead"] == [] and first["moved"] == []
    before = cluster.assignment()
    loads = {agg: sum(1 for holder in before.values() if holder == agg) for agg in L1}
    assert sorted(loads.values()) == [2, 3, 3]
    assert "reconcile: 4 alive, 0 dead aggregators" in first["stdout"]

    # 2. Kill one L1: exactly its producers move; no other producer is touched.
    victim = "l1-2"
    orphans = sorted(p for p, holder in before.items() if holder == victim)
    cluster.kill(victim)
    second = cluster.reconcile("-e", "ldms_dead_after=1")
    assert second["dead"] == [victim]
    assert sorted(m["producer"] for m in second["moved"]) == orphans
    assert all(m["from"] == victim and m["to"] != victim for m in second["moved"])
    assert second["missing_sets"] == [], second["missing_sets"]
    for survivor in set(L1) - {victim}:
        sent = producer_commands(second, survivor)
        assert all(c.split()[0] in ("prdcr_add", "prdcr_start") for c in sent), sent
        started = {c.split("name=")[1].split()[0] for c in sent}
        assert started == {m["producer"] for m in second["moved"] if m["to"] == survivor}
    assert "l2" not in second["commands"]

    # 3. The L1 comes back bare: it is reconfigured, loads even out, nothing held twice.
    cluster.start(victim)
    time.sleep(1.5)
    third = cluster.reconcile("-e", "ldms_dead_after=1")
    assert third["dead"] == [] and victim in third["reconfigured"]
    after = cluster.assignment()
    loads = {agg: sum(1 for holder in after.values() if holder == agg) for agg in L1}
    assert max(loads.values()) - min(loads.values()) <= 1
    running = {}
    for agg in L1:
        for producer in running_producers(cluster, agg):
            running.setdefault(producer, []).append(agg)
    assert all(len(holders) == 1 for holders in running.values()), running
    assert sorted(running) == sorted(after)
    assert third["missing_sets"] == [], third["missing_sets"]

    # 4. Nothing left to do.
    fourth = cluster.reconcile()
    assert fourth["changed"] is False and fourth["commands"] == {} and fourth["moved"] == []
    # Samplers whose sets are fresh at their aggregators, as last configured, get no connection.
    phases = {phase["phase"]: phase["daemons"] for phase in fourth["phases"]}
    assert phases["samplers"] == 0 and phases["sampler sets"] == len(SAMPLERS)
    assert "phases: probe 4 in" in fourth["stdout"]


def running_producers(cluster, daemon):
    from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient

    client = LdmsdClient(port=cluster.ports[daemon], host="127.0.0.1", ldms_prefix=PREFIX)
    try:
        return [p["name"] for p in client.status("prdcr_status") if p["state"] != "STOPPED"]
    finally:
        client.close()


def test_restarted_sampler_is_reconfigured_and_interval_edit_restarts_only_that_instance(cluster):
    cluster.reconcile()
    cluster.kill("samp-3")
    down = cluster.reconcile("-e", "ldms_settle=3")
    assert down["missing_sets"] == [{"set": "samp-3/meminfo1", "sampler": "samp-3", "reason": "sampler down"}]
    cluster.start("samp-3")
    time.sleep(1.5)
    back = cluster.reconcile()
    assert back["reconfigured"] == ["samp-3"] and back["missing_sets"] == []
    cluster.write(interval="2s")
    edited = cluster.reconcile()
    assert sorted(edited["commands"]) == SAMPLERS
    for name in SAMPLERS:
        assert edited["commands"][name] == ["stop name=meminfo1", "start name=meminfo1 interval=2000000"]


def test_group_with_every_aggregator_dead_fails_and_keeps_the_assignment(cluster):
    cluster.reconcile()
    before = cluster.assignment()
    for name in L1:
        cluster.kill(name)
    run = cluster.reconcile("-e", "ldms_dead_after=1", "-e", "ldms_settle=1", expect_failure=True)
    assert "group l1-[1-3]: no alive aggregator among l1-1, l1-2, l1-3: the previous assignment is kept" in run.stdout
    assert cluster.assignment() == before


def test_a_run_overlapping_another_skips_or_waits(cluster):
    from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import FileState

    cluster.reconcile()
    state_before = (cluster.state / "reconcile-state.json").read_text()
    other = FileState(str(cluster.state))
    with other.locked():  # another run is under way
        skipped = subprocess.run(
            [os.path.join(BIN, "ansible-playbook"), "hpc.ldms.reconcile", "-i", str(cluster.tmp / "cluster.yaml"),
             "-e", "ldms_state_dir=%s" % cluster.state], env=cluster.env, capture_output=True, text=True,
            timeout=300, check=False)
        assert skipped.returncode == 0, skipped.stdout
        assert "reconcile skipped: another reconcile holds" in skipped.stdout
        assert (cluster.state / "reconcile-state.json").read_text() == state_before

    holder = threading.Thread(target=hold_lock_for, args=(other, 4.0))
    holder.start()
    time.sleep(0.5)
    started = time.monotonic()
    waited = cluster.reconcile("-e", "ldms_lock_wait=60")
    holder.join()
    assert time.monotonic() - started >= 3.0 and waited["changed"] is False


def hold_lock_for(store, seconds):
    with store.locked():
        time.sleep(seconds)


def test_etcd_backend_converges_and_refuses_without_quorum(cluster, tmp_path):
    etcd = EtcdCluster(tmp_path / "etcd", size=1)
    (tmp_path / "etcd").mkdir()
    etcd.start("m1")
    try:
        wait_for_quorum(etcd)
        backend = ("-e", "ldms_state_backend=etcd", "-e", json.dumps({"ldms_etcd_endpoints": etcd.endpoints()}))
        first = cluster.reconcile(*backend)
        assert first["changed"] and first["missing_sets"] == []
        assert not (cluster.state / "reconcile-state.json").exists()  # the state is in etcd
        second = cluster.reconcile(*backend)
        assert second["changed"] is False
        etcd.kill("m1")
        cluster.kill("l1-1")  # a change is due, but without etcd nothing may act on it
        refused = cluster.reconcile(*backend, "-e", "ldms_dead_after=1", expect_failure=True)
        assert "reconcile failed: etcd has no quorum or cannot be reached, so nothing was changed" in refused.stdout
        assert json.loads((cluster.state / "reconcile-report.json").read_text())["changed"] is False
    finally:
        etcd.stop()
