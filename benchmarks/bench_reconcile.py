"""Reconcile benchmark on the simulator: 10,000 samplers, 100 aggregators on 2 levels.

    python3 benchmarks/bench_reconcile.py [--samplers N] [--l1 N] [--l2 N]
    python3 benchmarks/bench_reconcile.py --real [--samplers 190 --l1 8 --l2 2]

All daemons run in one simulator process (``ldmsd_sim.py --many``), or with
--real as one real ldmsd process each (LDMS_PREFIX, default /opt/ovis); the
reconcile talks to each over its own loopback port. Prints the first (from nothing) run, a no-op run (target <= 5 s),
a run after one L1 is killed with dead_after=1 (target <= 10 s, moved =
its orphans exactly), the time from the kill until every set is visible at
the top again, and what Maestro's scheme would move for the same failure.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "simulator"))
import _collection_path  # noqa: E402

_collection_path.activate()

import harness  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.balance.sticky import maestro_blocks  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.engine import Options, Reconciler  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import EMPTY_STATE  # noqa: E402

CLUSTER = """
daemons:
  - names: "samp-[1-{samplers}]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "samp-[1-{samplers}]-ep", ports: "[{s0}-{s1}]"}}
  - names: "l1-[1-{l1}]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "l1-[1-{l1}]-ep", ports: "[{a0}-{a1}]"}}
  - names: "l2-[1-{l2}]"
    hosts: 127.0.0.1
    endpoints:
      - {{names: "l2-[1-{l2}]-ep", ports: "[{t0}-{t1}]"}}
aggregators:
  - daemons: "l1-[1-{l1}]"
    peers:
      - {{daemons: "samp-[1-{samplers}]", endpoints: "samp-[1-{samplers}]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 100ms}}]}}
  - daemons: "l2-[1-{l2}]"
    peers:
      - {{daemons: "l1-[1-{l1}]", endpoints: "l1-[1-{l1}]-ep", reconnect: 1s, type: active,
          updaters: [{{interval: 1s, offset: 200ms}}]}}
samplers:
  - daemons: "samp-[1-{samplers}]"
    plugins: [meminfo1]
plugins:
  meminfo1: {{name: meminfo, interval: 1s, config: [{{schema: meminfo}}]}}
"""


def free_range(count, start=20000):
    """The first run of ``count`` consecutive free loopback ports."""
    port = start
    while port + count < 65000:
        for offset in range(count):
            probe = socket.socket()
            try:
                probe.bind(("127.0.0.1", port + offset))
            except OSError:
                port += offset + 1
                break
            finally:
                probe.close()
        else:
            return port
    raise SystemExit("no %d free consecutive ports" % count)


def sets_at(ports):
    sets = set()
    for port in ports:
        client = LdmsdClient(port=port, host="127.0.0.1")
        try:
            sets |= {s["inst_name"] for s in client.status("prdcr_set_status")}
        finally:
            client.close()
    return sets


def run(cluster, state, **options):
    started = time.perf_counter()
    report = Reconciler(cluster, state, Options(workers=64, timeout=10.0, settle=120.0, **options)).run()
    print("  phases: " + ", ".join("%s %d daemons %.1f s" % (p["phase"], p["daemons"], p["seconds"])
                                   for p in report["phases"]))
    return report, time.perf_counter() - started


def start_simulator(spec, work):
    with open(os.path.join(work, "spec.json"), "w") as stream:
        json.dump(spec, stream)
    env = dict(os.environ, LDMS_SIMULATOR_POLL="5")
    simulator = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(harness.__file__), "ldmsd_sim.py"),
                                  "--many", os.path.join(work, "spec.json")], env=env, stdin=subprocess.DEVNULL)
    return {"all": simulator}


def start_real(spec, work):
    """One real ldmsd per daemon, bare: the reconcile configures them."""
    env = harness.ldms_env()
    return {entry["name"]: subprocess.Popen(
        [harness.LDMSD, "-F", "-x", "sock:%d" % entry["port"], "-l", os.path.join(work, entry["name"] + ".log")],
        env=env, stdin=subprocess.DEVNULL) for entry in spec}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samplers", type=int, default=None, help="10000 (simulator), 190 (--real)")
    parser.add_argument("--l1", type=int, default=None, help="96 (simulator), 8 (--real)")
    parser.add_argument("--l2", type=int, default=None, help="4 (simulator), 2 (--real)")
    parser.add_argument("--real", action="store_true", help="real ldmsd processes from LDMS_PREFIX or /opt/ovis")
    args = parser.parse_args()
    for key, simulated, real in (("samplers", 10000, 190), ("l1", 96, 8), ("l2", 4, 2)):
        if getattr(args, key) is None:
            setattr(args, key, real if args.real else simulated)
    if args.real:
        prefix = os.environ.get("LDMS_PREFIX") or "/opt/ovis"
        library = os.path.join(prefix, "lib")
        if library not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
            # LDMS's Python transport needs its libraries at process start.
            env = dict(os.environ, LDMS_PREFIX=prefix,
                       LD_LIBRARY_PATH=":".join(filter(None, [library, os.environ.get("LD_LIBRARY_PATH")])))
            os.execve(sys.executable, [sys.executable] + sys.argv, env)
    total = args.samplers + args.l1 + args.l2
    base = free_range(total)
    ports = {"s0": base, "s1": base + args.samplers - 1, "a0": base + args.samplers,
             "a1": base + args.samplers + args.l1 - 1, "t0": base + args.samplers + args.l1, "t1": base + total - 1}
    cluster = build_cluster(load_text(CLUSTER.format(samplers=args.samplers, l1=args.l1, l2=args.l2, **ports)))
    names = list(cluster.daemons)
    spec = [{"name": name, "port": base + index} for index, name in enumerate(names)]
    work = tempfile.mkdtemp(prefix="hpc-ldms-bench-")
    if args.real:
        processes = start_real(spec, work)
        kind = "real ldmsd (%s): %d processes" % (harness.PREFIX, len(processes))
    else:
        os.environ["LDMS_PREFIX"] = harness.SIMULATOR_PREFIX
        processes = start_simulator(spec, work)
        kind = "simulated, one process"
    try:
        time.sleep(3)
        print("%d CPUs; cluster: %d samplers, %d L1 + %d L2 aggregators, %s" % (
            os.cpu_count() or 1, args.samplers, args.l1, args.l2, kind))
        state = json.loads(json.dumps(EMPTY_STATE))
        first, seconds = run(cluster, state)
        print("first run (configure from nothing): %.1f s, %d daemons configured, %d sets missing" % (
            seconds, len(first["reconfigured"]), len(first["missing_sets"])))
        noop, seconds = run(cluster, state)
        print("no-op run: %.1f s, changed=%s (target <= 5 s)" % (seconds, noop["changed"]))
        previous = dict(state["assignments"]["l1-[1-%d]" % args.l1])
        victim = "l1-%d" % (args.l1 // 2)
        orphans = sorted(p for p, holder in previous.items() if holder == victim)
        if args.real:
            processes.pop(victim).kill()
        else:
            killer = LdmsdClient(port=base + names.index(victim), host="127.0.0.1")
            killer.request("daemon_exit")
            killer.close()
        killed_at = time.perf_counter()
        lost = {"samp-%s/meminfo1" % p[len("samp-"):-len("-ep")] for p in orphans}
        tops = [base + names.index("l2-%d" % i) for i in range(1, args.l2 + 1)]
        while lost & sets_at(tops):  # the top notices the loss before any run can heal it
            time.sleep(0.2)
        noticed = time.perf_counter() - killed_at
        after, seconds = run(cluster, state, dead_after=1)
        visible_again = time.perf_counter() - killed_at
        moved = sorted(m["producer"] for m in after["moved"])
        figures = (victim, seconds, len(moved), len(orphans), moved == orphans, len(after["missing_sets"]))
        print("after killing %s (dead_after=1): %.1f s (target <= 10 s); moved %d, orphans %d, moved == orphans: %s;"
              " sets missing at the top: %d" % figures)
        print("kill -> every set visible at the top again: %.1f s (the top lost the %d sets after %.1f s, "
              "then one reconcile run)" % (visible_again, len(lost), noticed))
        producers = ["samp-%d-ep" % i for i in range(1, args.samplers + 1)]
        aggregators = ["l1-%d" % i for i in range(1, args.l1 + 1)]
        before_cut = maestro_blocks(producers, aggregators)
        after_cut = maestro_blocks(producers, [a for a in aggregators if a != victim])
        maestro_moved = sum(1 for p in producers if before_cut[p] != after_cut[p])
        print("Maestro's re-cut for the same failure moves %d producers (%.1fx the orphans)" % (
            maestro_moved, maestro_moved / max(1, len(orphans))))
    finally:
        for process in processes.values():
            process.kill()
        for process in processes.values():
            process.wait()


if __name__ == "__main__":
    main()
