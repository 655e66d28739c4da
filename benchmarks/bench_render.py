"""Render benchmark: a cluster shaped like LDMS's large test cluster.

31,488 compute nodes + 44 service nodes are sampled, 8 level-1 aggregators
split them, and every compute node runs 14 sampler plugins. The figures are
for the render itself (load, validate, balance, write every file), at 1k, 10k
and the full size, to show linear growth.

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
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import render_files, write_files  # noqa: E402

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
    rendered = render_files(cluster, "bench.yaml")
    planned = time.perf_counter()
    write_files(rendered, dest)
    written = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    again = render_files(build_cluster(load_text(text)), "bench.yaml")
    write_files(again, dest)
    return {
        "daemons": len(cluster.daemons), "model_s": modelled - started, "render_s": planned - modelled,
        "write_s": written - planned, "total_s": written - started, "peak_mib": peak_kib / 1024,
        "files": len(rendered.written), "rewritten_on_second_run": len(again.written),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,31488", help="compute-node counts")
    args = parser.parse_args()
    columns = ("compute", "daemons", "model_s", "render_s", "write_s", "total_s", "maxrss_MiB", "files", "2nd_run")
    print("%9s %8s %8s %8s %8s %8s %9s %7s %9s" % columns)
    for size in (int(item) for item in args.sizes.split(",")):
        dest = tempfile.mkdtemp(prefix="hpc-ldms-bench-")
        try:
            row = measure(size, dest)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        print("%9d %8d %8.2f %8.2f %8.2f %8.2f %9.1f %7d %9d" % (
            size, row["daemons"], row["model_s"], row["render_s"], row["write_s"], row["total_s"],
            row["peak_mib"], row["files"], row["rewritten_on_second_run"]))
        sys.stdout.flush()
    print("target: total <= 5 s at 31,488 compute nodes (LDMS's ldmsd_yaml_parser: about 267 s)")


if __name__ == "__main__":
    main()
