"""The commands users type, timed end to end, on clusters shaped like LDMS's test clusters.

    python3 benchmarks/bench_commands.py [--sizes 1488,6000,31488] [--ldms-yaml DIR] [--hang-loop 20]

For each cluster (bench_render's shape: N compute + 44 service nodes, 8 L1
aggregators, 14 plugins per compute node), through an inventory file naming
the cluster file (``plugin: hpc.ldms.cluster`` + ``ldms_config``):

- ``ansible-playbook hpc.ldms.render -i inventory.yaml -e ldms_config_dir=DIR``
  into an empty directory, then again with nothing changed (no file may be
  rewritten);
- ``ansible-inventory -i inventory.yaml --graph``.

Each figure is the wall time of the whole command (Python and Ansible start,
inventory, render), its CPU time (user + system) and its peak memory (the
largest process, from wait4). ``--ldms-yaml`` names LDMS's
``ldms/test/yaml-cluster`` directory to add its block_generic.yaml and
large_generic.yaml. With ``LDMS_PYTHON`` set to LDMS's Python tree (the
directory holding ``ldmsd/``), LDMS's ldmsd_yaml_parser renders the 6k file
too, for the ratio. ``--hang-loop N`` renders the largest cluster N times,
each under a time limit, and counts the runs that complete.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection_path  # noqa: E402
from bench_render import cluster_yaml  # noqa: E402

BIN = os.path.dirname(sys.executable)
CPUS = os.cpu_count() or 1
PARSER_SIZE = 6000  # compute nodes of the file ldmsd_yaml_parser renders


def timed(argv, env=None, limit=None, cwd=None):
    """(wall s, cpu s, peak MiB, return code, output) of one command and everything it started."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = None if limit is None else started + limit
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                os.killpg(process.pid, 9)
                pid, status, usage = os.wait4(process.pid, 0)
                status = -1
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status) if status != -1 else None
        output.seek(0)
        text = output.read().decode(errors="replace")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, text


def ansible_env(collections: str) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.pop("ANSIBLE_CONFIG", None)
    return env


def mtimes(directory: str) -> dict:
    return {entry.name: entry.stat().st_mtime_ns for entry in os.scandir(directory)} if os.path.isdir(directory) else {}


def row(label, daemons, command, figures, goal=""):
    wall, cpu, peak, code, _text = figures
    print("%-16s %7s %-22s %7.2f %7.2f %8.0f %4d %3s  %s" % (
        label, daemons, command, wall, cpu, peak, CPUS, "ok" if code == 0 else "rc=%s" % code, goal))
    sys.stdout.flush()


def render_command(inventory, dest):
    return [os.path.join(BIN, "ansible-playbook"), "hpc.ldms.render", "-i", inventory, "-e", "ldms_config_dir=%s" % dest]


def bench_cluster(label, cluster_file, work, env, goals):
    inventory = os.path.join(work, "inventory-%s.yaml" % label)
    with open(inventory, "w") as stream:
        stream.write("plugin: hpc.ldms.cluster\nldms_config: %s\n" % cluster_file)
    dest = os.path.join(work, "out-%s" % label)
    first = timed(render_command(inventory, dest), env)
    daemons = sum(1 for name in os.listdir(dest) if name.endswith(".conf")) if os.path.isdir(dest) else 0
    row(label, daemons, "render, empty dir", first, goals.get("render", ""))
    if first[3] != 0:
        print(first[4][-2000:])
        return
    before = mtimes(dest)
    again = timed(render_command(inventory, dest), env)
    rewritten = sum(1 for name, stamp in mtimes(dest).items() if before.get(name) != stamp)
    changed = re.search(r"localhost\s+:.*changed=(\d+)", again[4])
    row(label, daemons, "re-render, unchanged", again,
        "%d files rewritten, changed=%s; goal <= 5 s, none rewritten" % (rewritten, changed.group(1) if changed else "?"))
    graph = timed([os.path.join(BIN, "ansible-inventory"), "-i", inventory, "--graph"], env)
    row(label, daemons, "ansible-inventory", graph, goals.get("inventory", ""))
    shutil.rmtree(dest, ignore_errors=True)


def ldms_parser(work, cluster_file):
    """ldmsd_yaml_parser's figures on one file, or why it was not run."""
    tree = os.environ.get("LDMS_PYTHON")
    if not tree:
        return None, "LDMS_PYTHON is not set (LDMS's Python tree, the directory holding ldmsd/)"
    candidates = [os.path.join(tree, "ldmsd", "ldmsd_yaml_parser"),
                  os.path.join(tree, "..", "..", "..", "bin", "ldmsd_yaml_parser"), shutil.which("ldmsd_yaml_parser")]
    script = next((path for path in candidates if path and os.path.isfile(path)), None)
    if script is None:
        return None, "no ldmsd_yaml_parser beside %s" % tree
    dest = os.path.join(work, "out-ldmsd_yaml_parser")
    os.makedirs(dest)
    env = dict(os.environ, PYTHONPATH=tree)
    return timed([sys.executable, script, "-y", cluster_file, "-p", dest], env), script


def hang_loop(runs, cluster_file, work, env, limit):
    inventory = os.path.join(work, "inventory-loop.yaml")
    with open(inventory, "w") as stream:
        stream.write("plugin: hpc.ldms.cluster\nldms_config: %s\n" % cluster_file)
    walls, failures = [], []
    for index in range(runs):
        dest = os.path.join(work, "out-loop-%d" % index)
        wall, _cpu, _peak, code, text = timed(render_command(inventory, dest), env, limit=limit)
        walls.append(wall)
        if code != 0:
            why = "timed out after %.0f s" % limit if code is None else "rc=%s %s" % (code, text[-300:])
            failures.append("run %d: %s" % (index + 1, why))
        shutil.rmtree(dest, ignore_errors=True)
        print("  render %2d/%d: %.1f s%s" % (index + 1, runs, wall, "" if code == 0 else "  FAILED"))
        sys.stdout.flush()
    print("hang loop: %d of %d renders completed within %.0f s each (wall %.1f-%.1f s, %d CPUs)" % (
        runs - len(failures), runs, limit, min(walls), max(walls), CPUS))
    for failure in failures:
        print("  " + failure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1488,6000,31488", help="compute-node counts")
    parser.add_argument("--ldms-yaml", default=os.environ.get("LDMS_YAML_CLUSTER_DIR"),
                        help="LDMS's ldms/test/yaml-cluster directory (block_generic.yaml, large_generic.yaml)")
    parser.add_argument("--hang-loop", type=int, default=0, help="renders of the largest cluster, each time-limited")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds allowed per render in the hang loop")
    parser.add_argument("--hang-loop-only", action="store_true", help="only the hang loop")
    parser.add_argument("--work", default=None, help="directory for the cluster files and the output (default: a temporary one)")
    args = parser.parse_args()
    collections = _collection_path.activate()
    env = ansible_env(collections)
    work = tempfile.mkdtemp(prefix="hpc-ldms-bench-", dir=args.work)
    sizes = [int(size) for size in args.sizes.split(",")]
    files = {}
    for size in sizes:
        files["shape-%d" % size] = os.path.join(work, "cluster-%d.yaml" % size)
        with open(files["shape-%d" % size], "w") as stream:
            stream.write(cluster_yaml(size))
    if args.ldms_yaml:
        for name in ("block_generic", "large_generic"):
            source = os.path.join(args.ldms_yaml, name + ".yaml")
            if os.path.isfile(source):
                files[name] = os.path.join(work, name + ".yaml")
                with open(source) as stream:
                    text = stream.read()
                # Quoted, for checkouts whose model still refuses a bare negative integer offset.
                quoted = re.sub(r"offset: (-\d+)\s*$", r'offset: "\1"', text, flags=re.M)
                if quoted != text:
                    print("%s: offsets quoted in the copy benchmarked" % name)
                with open(files[name], "w") as stream:
                    stream.write(quoted)
    goals = {"shape-1488": {}, "block_generic": {"render": "goal <= 1.2 s (ldmsd_yaml_parser: 1.5 s)"},
             "shape-6000": {"render": "goal <= 2 s"},
             "shape-31488": {"render": "goal <= 5 s, <= 1024 MiB", "inventory": "goal <= 3 s"},
             "large_generic": {"render": "goal <= 5 s, <= 1024 MiB", "inventory": "goal <= 3 s"}}
    print("%d CPUs; Python %s; work in %s" % (CPUS, sys.version.split()[0], work))
    columns = ("cluster", "daemons", "command", "wall_s", "cpu_s", "peak_MiB", "CPUs", "")
    print("%-16s %7s %-22s %7s %7s %8s %4s %3s" % columns)
    try:
        for label, path in files.items():
            if not args.hang_loop_only:
                bench_cluster(label, path, work, env, goals.get(label, {}))
        if PARSER_SIZE in sizes and not args.hang_loop_only:
            figures, where = ldms_parser(work, files["shape-%d" % PARSER_SIZE])
            if figures is None:
                print("ldmsd_yaml_parser: not run: %s (it takes about 267 s at 31k daemons)" % where)
            else:
                row("shape-%d" % PARSER_SIZE, PARSER_SIZE + 52, "ldmsd_yaml_parser", figures, where)
                inventory = os.path.join(work, "inventory-ratio.yaml")
                with open(inventory, "w") as stream:
                    stream.write("plugin: hpc.ldms.cluster\nldms_config: %s\n" % files["shape-%d" % PARSER_SIZE])
                ours = timed(render_command(inventory, os.path.join(work, "out-ratio")), env)
                print("ratio ldmsd_yaml_parser / our render (wall): %.1fx (%.2f s / %.2f s), %d CPUs" % (
                    figures[0] / ours[0], figures[0], ours[0], CPUS))
        if args.hang_loop:
            largest = files["shape-%d" % max(sizes)]
            hang_loop(args.hang_loop, largest, work, env, args.limit)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
