"""Live-configuration benchmark: 1,000 producers and one updater applied to one aggregator.

    python3 benchmarks/bench_apply.py [--simulator]

Runs against the ldmsd under LDMS_PREFIX (default /opt/ovis), or the test
simulator with --simulator or when no LDMS is installed. Prints:
- the planned apply (gather, plan, send) next to the same commands sent over
  one raw ldmsd_communicator session (target: <= 1.5x);
- the idempotent re-run: one status query per object kind, nothing sent
  (target: <= 1 s).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "simulator"))
import _collection_path  # noqa: E402

_collection_path.activate()

import harness  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient  # noqa: E402
from ansible_collections.hpc.ldms.plugins.module_utils.apply.resources import (  # noqa: E402
    apply_commands,
    normalize_config,
    plan_for,
)

PRODUCERS = 1000


def wanted():
    producers = [{"name": "node-%d" % i, "host": "127.0.0.1", "port": 1, "type": "active", "reconnect": "20s"}
                 for i in range(1, PRODUCERS + 1)]
    updaters = [{"name": "all", "interval": "1s", "offset": "100ms", "producers": ["^node-"]}]
    return normalize_config("producers", producers), normalize_config("updaters", updaters)


def start_daemon(prefix, env):
    port = harness.free_ports(1)[0]
    process = subprocess.Popen([os.path.join(prefix, "sbin", "ldmsd"), "-F", "-x", "sock:%d" % port,
                                "-l", "/dev/null"], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            client = LdmsdClient(port=port, host="127.0.0.1", ldms_prefix=prefix)
            client.connect()
            return process, client
        except Exception:  # not listening yet
            time.sleep(0.2)
    process.kill()
    raise SystemExit("ldmsd under %s did not start" % prefix)


def planned_apply(client, producers, updaters):
    started = time.perf_counter()
    count = 0
    for kind, items in (("producers", producers), ("updaters", updaters)):
        plan = plan_for(client, kind, "merged", items)
        apply_commands(client, plan.commands)
        count += len(plan.commands)
    return time.perf_counter() - started, count


def raw_session(client, commands):
    """The same commands over one communicator session, no gathering or planning."""
    module = client.module
    started = time.perf_counter()
    for command in commands:
        attrs = [module.LDMSD_Req_Attr(value=str(value), attr_name=key) for key, value in command.attrs]
        request = module.LDMSD_Request(command=command.verb, attrs=attrs)
        request.send(client.comm)
        reply = request.receive(client.comm)
        if reply["errcode"]:
            raise SystemExit("%s: %s" % (command.text(), reply["msg"]))
    return time.perf_counter() - started


def main():
    prefix = harness.SIMULATOR_PREFIX if "--simulator" in sys.argv else harness.PREFIX
    os.environ["LDMS_PREFIX"] = prefix
    env = dict(harness.ldms_env(), LDMS_PREFIX=prefix)
    for key in ("LD_LIBRARY_PATH", "ZAP_LIBPATH", "LDMSD_PLUGIN_LIBPATH"):
        os.environ[key] = env[key]
    kind = "simulator" if os.path.realpath(prefix) == os.path.realpath(harness.SIMULATOR_PREFIX) else "real ldmsd"
    producers, updaters = wanted()
    print("ldmsd: %s (%s)" % (kind, prefix))

    raw_process, raw_client = start_daemon(prefix, env)
    ours_process, ours_client = start_daemon(prefix, env)
    try:
        # The commands our plan sends to an empty daemon, sent raw on a fresh one.
        commands = []
        for kind_name, items in (("producers", producers), ("updaters", updaters)):
            commands += plan_for(ours_client, kind_name, "merged", items).commands
        raw = raw_session(raw_client, commands)
        ours, count = planned_apply(ours_client, producers, updaters)
        print("apply %d producers + 1 updater (%d commands): planned %.3f s, raw session %.3f s: %.2fx "
              "(target <= 1.5x)" % (PRODUCERS, count, ours, raw, ours / raw))
        started = time.perf_counter()
        again = sum(len(plan_for(ours_client, kind_name, "merged", items).commands)
                    for kind_name, items in (("producers", producers), ("updaters", updaters)))
        rerun = time.perf_counter() - started
        print("idempotent re-run: %d commands, %.3f s (target <= 1 s; prdcr_status + updtr_status + "
              "updtr_match_list)" % (again, rerun))
    finally:
        for client, process in ((raw_client, raw_process), (ours_client, ours_process)):
            client.close()
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
