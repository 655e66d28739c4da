"""A real etcd cluster on loopback for tests (Debian's etcd-server)."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import free_ports  # noqa: E402

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


class EtcdCluster:
    def __init__(self, tmp_path, size=3):
        ports = free_ports(2 * size)
        self.members = ["m%d" % i for i in range(1, size + 1)]
        self.client_port = dict(zip(self.members, ports[:size]))
        self.peer_port = dict(zip(self.members, ports[size:]))
        self.tmp = tmp_path
        self.processes = {}

    def start(self, name):
        initial = ",".join("%s=http://127.0.0.1:%d" % (m, self.peer_port[m]) for m in self.members)
        client = "http://127.0.0.1:%d" % self.client_port[name]
        peer = "http://127.0.0.1:%d" % self.peer_port[name]
        self.processes[name] = subprocess.Popen(
            [ETCD, "--name", name, "--data-dir", str(self.tmp / name), "--listen-client-urls", client,
             "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "hpc-ldms",
             "--heartbeat-interval", "50", "--election-timeout", "500"],
            stdout=open(self.tmp / ("%s.log" % name), "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def kill(self, name):
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def endpoints(self):
        return ["127.0.0.1:%d" % self.client_port[m] for m in self.members]

    def stop(self):
        for name in list(self.processes):
            self.kill(name)


def wait_for_quorum(cluster, timeout=30.0):
    from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import EtcdState, NoQuorum

    assert os.access(ETCD, os.X_OK), "etcd is not installed (Debian package etcd-server; make test installs it)"
    store = EtcdState(cluster.endpoints(), "/hpc-ldms/probe", timeout=2.0)
    deadline = time.time() + timeout
    while True:
        try:
            store._connect()
            return
        except NoQuorum:
            if time.time() > deadline:
                raise
            time.sleep(0.3)
