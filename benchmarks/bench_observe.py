"""What a reconcile run adds to see the cluster: status.html, the metrics file and the dashboards.

A cluster of N samplers, 100 level-1 aggregators and one level-2 with a SOS
store; the report has 2 dead aggregators, 1% of the samplers down (their sets
missing) and the dead aggregators' producers moved. Prints the time and size
of the status page, the metrics file and the dashboards.

    python3 benchmarks/bench_observe.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection_path  # noqa: E402

_collection_path.activate()

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.observe.dashboards import dashboard_files  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.observe.metrics import write_metrics  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.observe.status_page import status_html  # noqa: E402

AGGREGATORS = 100


def cluster_yaml(samplers: int) -> str:
    return "\n".join([
        "plugin: hpc.ldms.cluster", "daemons:",
        '  - {names: "s-[1-%d]", hosts: "n-[1-%d]", endpoints: [{names: "n-[1-%d]-e", ports: 411}]}'
        % (samplers, samplers, samplers),
        '  - {names: "a-[1-%d]", hosts: "g-[1-%d]", endpoints: [{names: "g-[1-%d]-e", ports: 412}]}'
        % (AGGREGATORS, AGGREGATORS, AGGREGATORS),
        '  - {names: top, hosts: head, endpoints: [{names: top-e, ports: 413}]}',
        "aggregators:",
        '  - {daemons: "a-[1-%d]", peers: [{daemons: "s-[1-%d]", endpoints: "n-[1-%d]-e", reconnect: 20s,'
        " type: active, updaters: [{interval: 1s}]}]}" % (AGGREGATORS, samplers, samplers),
        '  - {daemons: top, peers: [{daemons: "a-[1-%d]", endpoints: "g-[1-%d]-e", reconnect: 20s,'
        " type: active, updaters: [{interval: 1s}]}]}" % (AGGREGATORS, AGGREGATORS),
        "samplers:", '  - {daemons: "s-[1-%d]", plugins: [meminfo1, vmstat1]}' % samplers,
        "plugins:",
        "  meminfo1: {name: meminfo, interval: 1s, config: [{schema: meminfo}]}",
        "  vmstat1: {name: vmstat, interval: 1s, config: [{schema: vmstat}]}",
        "  sos: {name: store_sos, config: [{path: /store}]}",
        "stores:",
        "  meminfo: {daemons: top, plugin: sos, container: ldms_data, schema: meminfo}",
        "  vmstat: {daemons: top, plugin: sos, container: ldms_data, schema: vmstat}",
    ]) + "\n"


def report_for(samplers: int) -> tuple:
    aggregators = ["a-%d" % i for i in range(1, AGGREGATORS + 1)]
    assignment = {"n-%d-e" % i: aggregators[i % AGGREGATORS] for i in range(1, samplers + 1)}
    dead = aggregators[:2]
    moved = [{"producer": p, "from": h, "to": aggregators[2 + n % (AGGREGATORS - 2)], "group": "a-[1-%d]" % AGGREGATORS}
             for n, (p, h) in enumerate(sorted(assignment.items())) if h in dead]
    down = ["s-%d" % i for i in range(1, samplers + 1, 100)]
    report = {"alive": aggregators[2:] + ["top"], "dead": dead, "unresponsive": dead, "samplers_down": down,
              "moved": moved, "reconfigured": [], "failed_groups": [], "errors": [], "commands": {},
              "changed": True, "check_mode": False, "converged": False, "duration_s": 3.0,
              "missing_sets": [{"set": "%s/%s" % (s, p), "sampler": s, "reason": "sampler down"}
                               for s in down for p in ("meminfo1", "vmstat1")]}
    return report, {"assignments": {"a-[1-%d]" % AGGREGATORS: assignment}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    row = "%8s %10s %10s %12s %10s %12s %10s"
    print(row % ("samplers", "page s", "page KiB", "metrics s", "metrics KiB", "dashboards s", "dashboards"))
    for size in (int(value) for value in args.sizes.split(",")):
        cluster = build_cluster(load_text(cluster_yaml(size)))
        report, state = report_for(size)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            page = status_html(cluster, report, "bench")
            page_s = time.perf_counter() - started
            path = os.path.join(tmp, "hpc_ldms.prom")
            started = time.perf_counter()
            write_metrics(path, cluster, report, state, success=True)
            metrics_s = time.perf_counter() - started
            metrics_kib = os.path.getsize(path) / 1024
            started = time.perf_counter()
            files = dashboard_files(cluster)
            dashboards_s = time.perf_counter() - started
        figures = (size, page_s, len(page) / 1024, metrics_s, metrics_kib, dashboards_s, len(files))
        print("%8d %10.3f %10.0f %12.3f %10.0f %12.3f %10d" % figures)


if __name__ == "__main__":
    main()
