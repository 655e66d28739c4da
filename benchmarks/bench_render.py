"""Render benchmark: a cluster shaped like LDMS's large test cluster.

31,488 compute nodes + 44 service nodes are sampled, 8 level-1 aggregators
split them, and every compute node runs 14 sampler plugins. The figures are
for the render itself (load, validate, balance, write every file), at 1k, 10k
and the full size, to show linear growth; into tmpfs and onto disk, since
creating 31,000 files costs what the disk makes it cost.

    python3 benchmarks/bench_render.py [--sizes 1000,10000,31488]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import resource

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection_path  # noqa: E402

_collection_path.activate()

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import render_to_dir  # noqa: E402

COMPUTE_PLUGINS = ["meminfo", "vmstat", "procstat", "loadavg", "jobid", "dstat", "lustre_client", "procnetdev",
                   "procnfs", "procdiskstats", "sysclassib", "slurm_sampler", "filesingle", "edac"]
SERVICE_NODES = 44
AGGREGATORS = 8


def cluster_yaml(compute: int) -> str:
    plugins = "\n".join(
        "  %s_60s:\n    name: %s\n    interval: 60s\n    offset: -100ms\n    config:\n"
        "      - schema: %s\n        component_id: ${COMPONENT_ID}\n        producer: ${HOSTNAME}\n"
        "        instance: ${HOSTNAME}/%s\n        perm: rw-r--r--\n" % (name, name, name, name)
        for name in COMPUTE_PLUGINS)
    return """
daemons:
  - names: "cn[1-{c}]"
    hosts: "cn[1-{c}]-ib0"
    endpoints:
      - names: "cn[1-{c}]-ib0-411"
        ports: 411
        auth: {{name: munge, plugin: munge}}
  - names: "svc[1-{s}]"
    hosts: "svc[1-{s}]"
    endpoints:
      - names: "svc[1-{s}]-411"
        ports: 411
        auth: {{name: munge, plugin: munge}}
  - names: "agg[1-{a}]"
    hosts: "admin[1-{a}]"
    endpoints:
      - names: "agg[1-{a}]-20411"
        ports: 20411
        auth: {{name: munge, plugin: munge}}
aggregators:
  - daemons: "agg[1-{a}]"
    peers:
      - daemons: "cn[1-{c}],svc[1-{s}]"
        endpoints: "cn[1-{c}]-ib0-411,svc[1-{s}]-411"
        reconnect: 20s
        type: active
        updaters:
          - interval: 60s
            offset: 100ms
            mode: pull
samplers:
  - daemons: "cn[1-{c}]"
    plugins: [{compute_plugins}]
  - daemons: "svc[1-{s}]"
    plugins: [meminfo_60s, vmstat_60s]
plugins:
{plugins}
""".format(c=compute, s=SERVICE_NODES, a=AGGREGATORS,
           compute_plugins=", ".join("%s_60s" % name for name in COMPUTE_PLUGINS), plugins=plugins)


def measure(compute: int, dest: str):
    text = cluster_yaml(compute)
    started = time.perf_counter()
    cluster = build_cluster(load_text(text))
    modelled = time.perf_counter()
    first = render_to_dir(cluster, "bench.yaml", dest)
    rendered = time.perf_counter()
    again = render_to_dir(build_cluster(load_text(text)), "bench.yaml", dest)
    second = time.perf_counter()
    return {"daemons": len(cluster.daemons), "model_s": modelled - started, "render_s": rendered - modelled,
            "total_s": rendered - started, "second_s": second - rendered, "files": len(first.written),
            "rewritten": len(again.written), "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,31488", help="compute-node counts")
    parser.add_argument("--dirs", default="/dev/shm,%s" % tempfile.gettempdir(),
                        help="parent directories to render into (tmpfs, then disk)")
    args = parser.parse_args()
    print("%d CPUs" % (os.cpu_count() or 1))
    columns = ("where", "compute", "daemons", "model_s", "render_s", "total_s", "rerun_s", "files", "rewritten",
               "maxrss_MiB")
    print("%-10s %8s %8s %8s %9s %8s %8s %7s %9s %10s" % columns)
    for parent in args.dirs.split(","):
        if not os.path.isdir(parent):
            continue
        for size in (int(item) for item in args.sizes.split(",")):
            dest = tempfile.mkdtemp(prefix="hpc-ldms-bench-", dir=parent)
            try:
                row = measure(size, dest)
            finally:
                shutil.rmtree(dest, ignore_errors=True)
            print("%-10s %8d %8d %8.2f %9.2f %8.2f %8.2f %7d %9d %10.1f" % (
                parent, size, row["daemons"], row["model_s"], row["render_s"], row["total_s"], row["second_s"],
                row["files"], row["rewritten"], row["maxrss_mib"]))
            sys.stdout.flush()
    print("target: total <= 5 s at 31,488 compute nodes (LDMS's ldmsd_yaml_parser: about 267 s)")


if __name__ == "__main__":
    main()
