"""The reconcile playbook on 8 samplers, 3 L1 and 1 L2 with a store: real LDMS 4.5.3 where installed, else the simulator.

Mirrors the LDMS project's own maestro test: converge from bare daemons, kill
an L1, restart it bare, and check what moved and what was left alone.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
sys.path.insert(0, os.path.dirname(__file__))
from etcd_cluster import EtcdCluster, wait_for_quorum  # noqa: E402
from harness import LDMSD, PREFIX, free_ports, ldms_env, wait_listening  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)

CLUSTER = """plugin: hpc.ldms.cluster
daemons:
  - names: "samp-[1-8]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "samp-[1-8]-ep", ports: "{samplers}"{auth}}}
  - names: "l1-[1-3]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "l1-[1-3]-ep", ports: "{l1}"{auth}}}
  - names: l2
    hosts: 127.0.0.1
    endpoints:
      - {{names: l2-ep, ports: {l2}{auth}}}
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
    def __init__(self, tmp_path, auth=None):
        self.tmp = tmp_path
        self.auth = auth  # the endpoints' domain, as a cluster-file mapping
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
            l2=self.ports["l2"], interval=interval, csv=self.tmp / "csv",
            auth=", auth: %s" % json.dumps(self.auth) if self.auth else ""))

    def start(self, *names):
        """ldmsd with nothing but a listener (and the default domain of the endpoints' plugin), once listening."""
        auth = []
        if self.auth:
            conf = self.auth.get("conf") or {}
            options = conf.items() if isinstance(conf, dict) else [("conf", conf)]
            auth = ["-a", self.auth["plugin"]] + [arg for key, value in options for arg in ("-A", "%s=%s" % (key, value))]
        for name in names:
            self.processes[name] = subprocess.Popen(
                [LDMSD, "-F", "-x", "sock:%d" % self.ports[name], "-l", str(self.tmp / ("%s.log" % name))] + auth,
                env=self.env, stdin=subprocess.DEVNULL)
        for name in names:
            wait_listening(self.ports[name], self.processes[name])

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
        report["stdout"], report["stderr"] = run.stdout, run.stderr
        return report

    def assignment(self):
        state = json.loads((self.state / "reconcile-state.json").read_text())
        return state["assignments"]["l1-[1-3]"]

    def freeze(self, name):
        """A hung daemon: its connections stay open, nothing answers."""
        os.kill(self.processes[name].pid, signal.SIGSTOP)

    def thaw(self, name):
        os.kill(self.processes[name].pid, signal.SIGCONT)

    def last_report(self):
        return json.loads((self.state / "reconcile-report.json").read_text())

    def inventory_holders(self):
        """Producer -> L1 in the inventory's plans, reading the reconcile's state as a deployment would."""
        env = dict(self.env, HPC_LDMS_STATE_DIR=str(self.state), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
        play = self.tmp / "holders.yml"
        play.write_text("- hosts: ldms_level_1\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.debug:\n"
                        "        msg: \"{{ ldms_plan.objects.producers | map(attribute='name') }}\"\n")
        out = json.loads(subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(self.tmp / "cluster.yaml"),
                                         str(play)], env=env, capture_output=True, text=True, check=True).stdout)
        return {producer: agg for agg, result in out["plays"][0]["tasks"][0]["hosts"].items() for producer in result["msg"]}

    def stop(self):
        for name in list(self.processes):
            self.thaw(name)
            self.kill(name)


@pytest.fixture()
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    cluster.start(*SAMPLERS, *L1, "l2")
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
    # The L2 is left alone: its producer for the killed L1 is disconnected, holding no set
    # (a hung L1's would be CONNECTED with frozen sets, and stopped: see the hung test).
    assert "l2" not in second["commands"], second["commands"]
    # A deployment now configures what the reconcile chose.
    assert cluster.inventory_holders() == cluster.assignment()

    # 3. The L1 comes back bare: it is reconfigured, loads even out, nothing held twice.
    cluster.start(victim)
    third = cluster.reconcile("-e", "ldms_dead_after=1")
    assert third["dead"] == [] and victim in third["reconfigured"]
    assert "l2" not in third["commands"], third["commands"]  # it reconnected by itself
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
    assert [(m["set"], m["sampler"], m["reason"]) for m in down["missing_sets"]] == [
        ("samp-3/meminfo1", "samp-3", "sampler down")]
    assert "cannot reach" in down["missing_sets"][0]["detail"]
    cluster.start("samp-3")
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
             "-e", "ldms_state_dir=%s" % cluster.state, "-e", "ldms_lock_wait=0"], env=cluster.env,
            capture_output=True, text=True,
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


def set_status(cluster, daemon):
    from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient

    client = LdmsdClient(port=cluster.ports[daemon], host="127.0.0.1", ldms_prefix=PREFIX)
    try:
        return client.status("prdcr_set_status")
    finally:
        client.close()


def test_a_hung_l1_is_cut_off_at_the_l2_and_its_sets_flow_again(cluster):
    cluster.reconcile()
    before = cluster.assignment()
    victim = max(L1, key=lambda agg: (sum(holder == agg for holder in before.values()), agg))
    orphans = sorted(p for p, holder in before.items() if holder == victim)
    orphan_sets = sorted(p[:-len("-ep")] + "/meminfo1" for p in orphans)
    cluster.freeze(victim)
    time.sleep(10)  # longer than 3 update intervals + 5 s of clock slack: its sets at the L2 are stale

    # Not dead yet (dead_after=2): it cannot be configured, and its sets are frozen at the L2.
    cluster.reconcile("-e", "ldms_settle=1", expect_failure=True)
    hung = cluster.last_report()
    assert hung["dead"] == [] and hung["unresponsive"] == [victim]
    missing = {entry["set"]: entry for entry in hung["missing_sets"]}
    assert sorted(missing) == orphan_sets, hung["missing_sets"]
    for entry in missing.values():
        assert entry["reason"] in ("stale", "aggregator unresponsive"), entry
        assert "%s: does not answer" % victim in entry["detail"], entry
    assert any(entry["reason"] == "stale" for entry in missing.values()), hung["missing_sets"]

    # Dead: its producers move, and the L2's producer for it is stopped, which frees its frozen sets.
    dead = cluster.reconcile()
    assert dead["dead"] == [victim] and sorted(m["producer"] for m in dead["moved"]) == orphans
    assert "prdcr_stop name=%s-ep" % victim in dead["commands"]["l2"], dead["commands"]
    assert dead["missing_sets"] == [], dead["missing_sets"]
    now = time.time()
    at_l2 = [s for s in set_status(cluster, "l2") if s["inst_name"] in orphan_sets]
    assert sorted(s["inst_name"] for s in at_l2) == orphan_sets, at_l2
    for entry in at_l2:
        assert entry["state"] in ("READY", "UPDATING") and entry["producer"] != victim + "-ep", entry
        assert now - int(entry["timestamp.sec"]) < 8, entry
    time.sleep(4)  # and the store writes them again
    stored = {line.split(",")[2] for line in (cluster.tmp / "csv" / "store" / "meminfo").read_text().splitlines()
              if not line.startswith("#") and float(line.split(",")[0]) > now}
    assert {name.split("/")[0] for name in orphan_sets} <= stored, stored

    # Back: the L2 pulls from it again, and no sampler is held by two L1s.
    cluster.thaw(victim)
    time.sleep(2)
    back = cluster.reconcile()
    assert back["dead"] == [] and "prdcr_start name=%s-ep" % victim in back["commands"]["l2"], back["commands"]
    assert back["missing_sets"] == [], back["missing_sets"]
    running = {}
    for agg in L1:
        for producer in running_producers(cluster, agg):
            running.setdefault(producer, []).append(agg)
    assert all(len(holders) == 1 for holders in running.values()), running
    assert sorted(running) == sorted(cluster.assignment())
    again = cluster.reconcile()
    assert again["changed"] is False and again["missing_sets"] == [], again


def start_munged(directory):
    """A private munged (own key and socket) for this test; its socket path."""
    if not (os.access("/usr/sbin/munged", os.X_OK) and os.access("/usr/sbin/mungekey", os.X_OK)):
        pytest.skip("munge is not installed (Debian package munge)")
    directory.mkdir(mode=0o711)
    subprocess.run(["/usr/sbin/mungekey", "-c", "-k", str(directory / "key"), "-b", "1024"], check=True)
    (directory / "key").chmod(0o400)
    socket_path = directory / "munge.socket"
    process = subprocess.Popen(
        ["/usr/sbin/munged", "-F", "-f", "--socket=%s" % socket_path, "--key-file=%s" % (directory / "key"),
         "--pid-file=%s" % (directory / "pid"), "--log-file=%s" % (directory / "log"),
         "--seed-file=%s" % (directory / "seed")], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return process, str(socket_path)


@pytest.mark.parametrize("domain", ["none", "DEFAULT", "munge", "ovis"])
def test_bare_daemons_with_an_explicit_auth_domain(tmp_path, domain):
    """Daemons started with only a listener get their domains added; the next pass sends nothing."""
    munged = None
    auth = {"name": domain, "plugin": "none" if domain in ("none", "DEFAULT") else domain}
    if domain == "munge":
        munged, socket_path = start_munged(tmp_path / "munge")
        auth["conf"] = {"socket": socket_path}
    if domain == "ovis":
        secret = tmp_path / "ldmsauth.conf"
        secret.write_text("secretword=%s\n" % os.urandom(8).hex())
        secret.chmod(0o600)
        auth.update(name="site-ovis", conf=str(secret))
    cluster = Cluster(tmp_path, auth=auth)
    cluster.start(*SAMPLERS, *L1, "l2")
    try:
        first = cluster.reconcile()
        assert first["errors"] == [] and first["missing_sets"] == [], (first["errors"], first["missing_sets"])
        added = [c for c in first["commands"]["l1-1"] if c.startswith("auth_add")]
        for sampler in SAMPLERS:  # its config file's COMPID, set before the plugin config that reads it
            assert first["commands"][sampler][0].startswith("env COMPID="), first["commands"][sampler]
        if domain == "DEFAULT":
            assert added == []  # the daemon's own domain, from -a
        else:
            assert added[0].startswith("auth_add name=%s plugin=%s" % (auth["name"], auth["plugin"])), added
        second = cluster.reconcile()
        assert second["commands"] == {} and second["restart_needed"] == [], second["commands"]
    finally:
        cluster.stop()
        if munged is not None:
            munged.terminate()
            munged.wait()


@pytest.mark.parametrize("text", ["[]", '{"failures": {"l1-1": "x"}, "assignments": []}'])
def test_an_unusable_state_is_set_aside_and_the_run_goes_on(cluster, text):
    cluster.reconcile()
    (cluster.state / "reconcile-state.json").write_text(text)
    report = cluster.reconcile()
    discarded = report["state_discarded"]
    assert discarded["location"] == str(cluster.state / "reconcile-state.json")
    assert open(discarded["kept_as"]).read() == text
    warning = "[WARNING]: the reconcile state %s could not be used" % discarded["location"]
    assert warning in report["stdout"] + report["stderr"]
    assert report["missing_sets"] == [] and report["errors"] == []
    assert sorted(cluster.assignment()) == sorted("samp-%d-ep" % i for i in range(1, 9))
    assert cluster.reconcile()["state_discarded"] is None
