# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ldms_reconcile
short_description: Make a running LDMS cluster match its cluster file, and heal it after failures
version_added: 0.1.0
description:
  - Probes every aggregator in parallel over the LDMS transport; one is dead after O(dead_after) consecutive
    failed probes and alive again after one good probe.
  - Balances each aggregator group with the sticky balancer from the previous assignment, so only the producers
    of dead aggregators move, and a returning aggregator gets back only what evens the loads.
  - Applies with the resource-module engine, starting a moved producer on its new aggregator before stopping it
    on the old one; objects that already match get no command, and a restarted (bare) daemon is configured
    from scratch. A changed sampler interval or offset restarts only that plugin instance; a changed sampler
    config re-creates only that instance.
  - Writes C(reconcile-report.json) and the state (failure counts, assignment, applied sampler configs) into
    O(state_dir), atomically, under a lock.
  - Writes C(status.html) beside the report (the topology coloured by this run, the problems, the missing sets and
    the last moves) and the health metrics to O(metrics_file) for the node-exporter textfile collector.
  - Runs where it can reach every daemon's control endpoint; no SSH to daemon hosts is needed.
options:
  cluster_file:
    description: The cluster file (or an inventory file that names one with C(ldms_config)).
    type: path
    required: true
  state_dir:
    description: Where the state, the lock and the report are kept.
    type: path
    default: /var/lib/hpc-ldms
  dead_after:
    description: Consecutive failed probes after which an aggregator is dead.
    type: int
    default: 2
  timeout:
    description: Seconds to wait for each daemon to connect and reply.
    type: float
    default: 5.0
  workers:
    description: Daemons probed and configured at the same time.
    type: int
    default: 64
  settle:
    description: Seconds to wait, after applying, for every sampler set to reach the top level.
    type: float
    default: 30.0
  lock_wait:
    description: Seconds to wait for another run's lock; after that this run exits without changing anything.
    type: float
    default: 60.0
  ldms_prefix:
    description: Where LDMS is installed; defaults to C(LDMS_PREFIX), then C(/opt/ovis).
    type: path
  state_backend:
    description:
      - C(file) keeps the state in O(state_dir), guarded by a file lock (one management host).
      - C(etcd) keeps it in etcd under O(etcd_prefix), guarded by an etcd lease lock, so several management hosts
        can run the reconcile and exactly one acts per period. Without quorum nothing is changed and the run fails
        saying why. The report is still written to O(state_dir).
    type: str
    choices: [file, etcd]
    default: file
  etcd_endpoints:
    description: etcd client endpoints as C(host:port), tried in order.
    type: list
    elements: str
    default: [localhost:2379]
  etcd_prefix:
    description: Key prefix of this cluster's state and lock; defaults to C(/hpc-ldms/<cluster file name>).
    type: str
  etcd_lock_ttl:
    description: Seconds the etcd lock outlives a crashed holder; longer than a run.
    type: int
    default: 300
  metrics_file:
    description:
      - Where the Prometheus text-format metrics of each run are written, atomically; defaults to
        C(<state_dir>/hpc_ldms.prom). An empty string writes none.
    type: path
attributes:
  check_mode:
    description: Probes and plans; sends no command and writes no state or report.
    support: full
  diff_mode:
    description: Not applicable; the report lists the commands per daemon.
    support: none
  platform:
    description: Runs on the management host.
    support: full
    platforms: posix
notes:
  - ldmsd 4.5.3 cannot delete a producer that was ever started, so a producer leaving an aggregator is stopped,
    and started again if it comes back.
  - Recovery time after an aggregator dies is the run period times O(dead_after), plus one run.
requirements:
  - prometheus-client (on the host the module runs on), unless O(metrics_file) is empty.
author:
  - hpc.ldms contributors (@hpc-ldms)
"""

EXAMPLES = r"""
- name: Reconcile the cluster
  hpc.ldms.ldms_reconcile:
    cluster_file: /etc/ldms/cluster.yaml
    state_dir: /var/lib/hpc-ldms
    dead_after: 2
"""

RETURN = r"""
alive:
  description: Aggregators alive after this probe.
  returned: success
  type: list
  elements: str
  sample:
    - l1-agg-2
    - l2-agg
dead:
  description: Aggregators counted dead.
  returned: success
  type: list
  elements: str
  sample:
    - l1-agg-1
moved:
  description: Producers whose aggregator changed, as C({producer, from, to, group}).
  returned: success
  type: list
  elements: dict
  sample:
    - producer: sampler-1-sock
      from: l1-agg-1
      to: l1-agg-2
      group: l1-agg-[1-2]
reconfigured:
  description: Daemons that had none of their objects and were configured from scratch.
  returned: success
  type: list
  elements: str
  sample:
    - l1-agg-2
restart_needed:
  description:
    - Running producers and advertisers whose attributes changed, as C({daemon, kind, name, differs}). ldmsd 4.5.3
      cannot delete a started producer, so each is left running as it is (its data keeps flowing) until that
      daemon is restarted, when the reconcile configures it anew.
  returned: success
  type: list
  elements: dict
  sample:
    - daemon: l1-agg-1
      kind: producers
      name: sampler-1-sock
      differs: [reconnect]
missing_sets:
  description:
    - Sampler sets not at the top level READY (or UPDATING) with a fresh update time, as
      C({set, sampler, reason, detail}); reason is one of sampler down, not assigned, stale,
      aggregator unresponsive, producer disconnected, duplicate set, set not pulled, set not ready;
      detail quotes the producer and set states ldmsd reported on the way up.
  returned: success
  type: list
  elements: dict
  sample:
    - set: sampler-3/meminfo1
      sampler: sampler-3
      reason: sampler down
state_discarded:
  description:
    - Set when the saved state could not be used (not JSON, or not of the expected shape), as
      C({location, kept_as, problem}); the state was moved aside to C(kept_as) (null in check mode) and the run
      started from the cluster file alone. A warning says the same.
  returned: success
  type: dict
  sample:
    location: /var/lib/hpc-ldms/reconcile-state.json
    kept_as: /var/lib/hpc-ldms/reconcile-state.json.corrupt-20261203T101500Z
    problem: the state is list, not a mapping
commands:
  description: Daemon name to the commands sent to it (or that would be sent in check mode).
  returned: success
  type: dict
  sample:
    l1-agg-2:
    - prdcr_add name=sampler-1-sock host=127.0.0.1 port=20401 xprt=sock type=active reconnect=1000000
    - prdcr_start name=sampler-1-sock
summary:
  description: A short human summary.
  returned: always
  type: str
  sample: "reconcile: 2 alive, 1 dead aggregators; 1 producers moved; 0 daemons reconfigured; 0 sets missing at the top;
    changed=true; 2.5 s\ndead: l1-agg-1"
skipped:
  description: True when another run held the lock.
  returned: always
  type: bool
  sample:
    false
    ...
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.source import load_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.observe.metrics import HAS_PROMETHEUS_CLIENT
from ansible_collections.hpc.ldms.plugins.module_utils.observe.run_outputs import metrics_path, write_run_outputs
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.defaults import default
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.engine import Options, Reconciler, summary
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import (
    EtcdState,
    FileState,
    StateBusy,
    StateError,
    default_etcd_prefix,
    write_json_atomically,
)

REPORT_FILE = "reconcile-report.json"


def state_notice(discarded: dict) -> str:
    kept = ("it was moved aside to %s" % discarded["kept_as"]) if discarded["kept_as"] else "it would be moved aside"
    return ("the reconcile state %s could not be used (%s): %s, and this run started from the cluster file alone"
            % (discarded["location"], discarded["problem"], kept))


def main():
    module = AnsibleModule(
        argument_spec={
            "cluster_file": {"type": "path", "required": True},
            "state_dir": {"type": "path", "default": default("state_dir")},
            "dead_after": {"type": "int", "default": default("dead_after")},
            "timeout": {"type": "float", "default": default("timeout")},
            "workers": {"type": "int", "default": default("workers")},
            "settle": {"type": "float", "default": default("settle")},
            "lock_wait": {"type": "float", "default": default("lock_wait")},
            "ldms_prefix": {"type": "path"},
            "state_backend": {"type": "str", "choices": ["file", "etcd"], "default": default("state_backend")},
            "etcd_endpoints": {"type": "list", "elements": "str", "default": default("etcd_endpoints")},
            "etcd_prefix": {"type": "str"},
            "etcd_lock_ttl": {"type": "int", "default": default("etcd_lock_ttl")},
            "metrics_file": {"type": "path"},
        },
        supports_check_mode=True)
    params = module.params
    if params["dead_after"] < 1:
        module.fail_json(msg="dead_after must be at least 1")
    metrics_file = metrics_path(params["state_dir"], params["metrics_file"])
    if metrics_file and not HAS_PROMETHEUS_CLIENT:
        module.fail_json(msg=missing_required_lib("prometheus-client") + " (or set metrics_file to '')")
    try:
        _source, cluster = load_cluster(params["cluster_file"])
    except ClusterError as exc:
        module.fail_json(msg="%s: %s" % (params["cluster_file"], exc))
    options = Options(dead_after=params["dead_after"], timeout=params["timeout"], workers=params["workers"],
                      settle=params["settle"], ldms_prefix=params["ldms_prefix"], check=module.check_mode)
    try:
        if params["state_backend"] == "etcd":
            prefix = params["etcd_prefix"] or default_etcd_prefix(params["cluster_file"])
            store = EtcdState(params["etcd_endpoints"], prefix, lock_wait=params["lock_wait"],
                              lock_ttl=params["etcd_lock_ttl"], timeout=params["timeout"])
        else:
            store = FileState(params["state_dir"], lock_wait=params["lock_wait"])
        with store.locked(check=module.check_mode):
            state = store.load(check=module.check_mode)
            report = Reconciler(cluster, state, options).run()
            report["state_discarded"] = store.discarded
            report["changed"] = report["changed"] or bool(store.discarded)
            if not module.check_mode:
                store.save(state)
                os.makedirs(params["state_dir"], exist_ok=True)
                write_json_atomically(os.path.join(params["state_dir"], REPORT_FILE), report)
                write_run_outputs(params["state_dir"], metrics_file, cluster, report, state,
                                  os.path.basename(params["cluster_file"]))
    except StateBusy as exc:
        module.exit_json(changed=False, skipped=True, summary="reconcile skipped: %s" % exc)
    except (StateError, LdmsdError, OSError) as exc:
        module.fail_json(msg="reconcile failed: %s" % exc, skipped=False)
    text = summary(report)
    if store.discarded:
        notice = state_notice(store.discarded)
        module.warn(notice)
        text += "\n" + notice
    if report["failed_groups"] or report["errors"]:
        module.fail_json(msg=text, skipped=False, **report)
    module.exit_json(skipped=False, summary=text, **report)


if __name__ == "__main__":
    main()
