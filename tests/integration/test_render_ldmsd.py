"""Rendered config files start an ldmsd cluster: real LDMS 4.5.3 where installed, else the simulator."""

import json
import os
import signal
import subprocess
import sys
import time

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import render_to_dir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import LDMSD, free_ports, ldms_env  # noqa: E402

CLUSTER = """
daemons:
  - names: "samp-[1-2]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "samp-[1-2]-ep", ports: "{s1},{s2}"}}
  - names: "l1-[1-2]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "l1-[1-2]-ep", ports: "{a1},{a2}"}}
  - names: l2
    hosts: 127.0.0.1
    endpoints:
      - {{names: l2-ep, ports: {top}}}
aggregators:
  - daemons: "l1-[1-2]"
    peers:
      - {{daemons: "samp-[1-2]", endpoints: "samp-[1-2]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 100ms, mode: pull}}]}}
  - daemons: l2
    peers:
      - {{daemons: "l1-[1-2]", endpoints: "l1-[1-2]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 200ms}}]}}
samplers:
  - daemons: "samp-[1-2]"
    plugins: [meminfo1, vmstat1]
plugins:
  meminfo1: {{name: meminfo, interval: 1s, config: [{{schema: meminfo, perm: "rw-r--r--"}}]}}
  vmstat1: {{name: vmstat, interval: 1s, offset: 0ms, config: [{{schema: vmstat}}]}}
  csv: {{name: store_csv, config: [{{path: "{csv}", buffer: 0}}]}}
stores:
  csv-meminfo: {{daemons: l2, plugin: csv, container: store, schema: meminfo, flush: 1s}}
"""

SETS_AT_TOP = """
import json, sys
from ldmsd.ldmsd_communicator import Communicator
comm = Communicator("sock", "127.0.0.1", int(sys.argv[1]))
assert comm.connect() == 0, "cannot connect"
rc, msg = comm.prdcr_set_status()
print(json.dumps(sorted(s["inst_name"] for s in json.loads(msg))) if rc == 0 else "[]")
"""


def csv_rows(root):
    return sum(len(path.read_text().splitlines()) for path in root.glob("store/meminfo*") if path.is_file())


def test_rendered_cluster_runs_on_ldmsd(tmp_path):
    s1, s2, a1, a2, top = free_ports(5)
    csv = tmp_path / "csv"
    csv.mkdir()
    cluster = build_cluster(load_text(CLUSTER.format(s1=s1, s2=s2, a1=a1, a2=a2, top=top, csv=csv)))
    render_to_dir(cluster, "real.yaml", str(tmp_path / "conf"))
    env = ldms_env()
    daemons = []
    try:
        for name in ("samp-1", "samp-2", "l1-1", "l1-2", "l2"):
            daemons.append(subprocess.Popen(
                [LDMSD, "-F", "-c", str(tmp_path / "conf" / ("%s.conf" % name)), "-l", str(tmp_path / ("%s.log" % name))],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        wanted = sorted("samp-%d/%s" % (i, p) for i in (1, 2) for p in ("meminfo1", "vmstat1"))
        deadline, seen = time.time() + 30, []
        while time.time() < deadline:
            assert all(d.poll() is None for d in daemons), "an ldmsd exited: %s" % [
                (tmp_path / ("%s.log" % n)).read_text()[-500:] for n in ("samp-1", "samp-2", "l1-1", "l1-2", "l2")]
            out = subprocess.run([sys.executable, "-c", SETS_AT_TOP, str(top)], env=env, capture_output=True,
                                 text=True, timeout=20, check=False)
            seen = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []  # not up yet
            if seen == wanted and csv_rows(csv) >= 2:
                break
            time.sleep(1)
        assert seen == wanted
        assert csv_rows(csv) >= 2  # the header and at least one row
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
