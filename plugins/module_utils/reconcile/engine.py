# -*- coding: utf-8 -*-
# Copyright: hpc.ldms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconcile pass: probe, assign, apply, report.

1. Probe every aggregator in parallel. One is dead after ``dead_after``
   consecutive failed probes, alive again after one good probe.
2. Balance each aggregator group with the sticky balancer, starting from the
   previous assignment: only the producers of dead aggregators move, and a
   returning aggregator gets back only what evens the loads.
3. Apply with the resource-module engine, in an order that opens no gap:
   samplers; then on every aggregator the assigned producers (added or
   started), updaters, listeners, subscriptions and storage policies; only
   then are the producers an aggregator no longer holds stopped, level by
   level. Producers still CONNECTED to a dead aggregator are stopped too
   (ldmsd keeps a hung peer's sets frozen and refuses the same sets from
   another peer), and started again when it is back. Objects
   that already match get no command; a daemon that lost its config (a
   restart) is configured from scratch.
4. Report what is alive, what moved, what was reconfigured and which sampler
   sets do not reach the top level READY and fresh, with a reason and the
   producer and set states ldmsd reported on the way (``sets.py``).

ldmsd 4.5.3 cannot delete a producer that was ever started, so a producer
leaving an aggregator is stopped, and started again if it comes back. A
running producer whose attributes changed is left running as it is and
reported under ``restart_needed``: re-creating it would stop its data.

A daemon may have been started with nothing but a listener (by a site's own
unit, as under Maestro): the auth domains its producers and advertisers name
are added before them, and a daemon that shows no configuration at all also
gets its auth domains and listeners added. ldmsd cannot list either, so a
domain counts as present once an object reports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient, LdmsdError, LdmsdUnreachable
from ansible_collections.hpc.ldms.plugins.module_utils.apply.resources import (
    apply_commands,
    normalize_config,
    plan_changes,
    plan_for,
)
from ansible_collections.hpc.ldms.plugins.module_utils.balance.sticky import balance
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import Cluster
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.defaults import DEFAULTS
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.sets import DaemonView, diagnose
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import DEFAULT_AUTH_DOMAIN, Context
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS, SAMPLER_KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import (
    DaemonPlan,
    Planner,
    auth_command,
    group_assignments,
)

# States of a producer pointing at a dead aggregator that keep it stopped (see held_back).
HELD_STATES = ("CONNECTED", "STOPPING", "STOPPED")
STALE_AFTER_INTERVALS = 3  # a set older than this many sampling intervals (plus slack) is stale
CLOCK_SLACK_S = 5.0


@dataclass
class Options:
    dead_after: int = DEFAULTS["dead_after"]
    timeout: float = DEFAULTS["timeout"]
    workers: int = DEFAULTS["workers"]
    settle: float = DEFAULTS["settle"]  # seconds to wait for every sampler set to reach the top level
    ldms_prefix: Optional[str] = None
    check: bool = False


@dataclass
class DaemonOutcome:
    name: str
    commands: List[str] = field(default_factory=list)
    reconfigured: bool = False
    error: Optional[str] = None
    unreachable: bool = False  # the error is that no connection could be made
    applied: List[str] = field(default_factory=list)
    kept: List[dict] = field(default_factory=list)  # changed objects left running as they are
    auths: set = field(default_factory=set)  # auth domains known to be on the daemon


def client_for(plan: DaemonPlan, options: Options) -> LdmsdClient:
    control = plan.control
    return LdmsdClient(port=control["port"], host=control["host"], xprt=control["xprt"], auth=control["auth"],
                       auth_opts=control.get("auth_opts"), timeout=options.timeout, ldms_prefix=options.ldms_prefix)


def probe(plan: DaemonPlan, options: Options) -> Optional[str]:
    """None when the daemon answers daemon_status, else why not."""
    client = client_for(plan, options)
    try:
        client.status("daemon_status")
        return None
    except LdmsdError as exc:
        return str(exc)
    finally:
        client.close()


def config_digest(item: dict) -> str:
    return hashlib.sha256(json.dumps(item.get("config", []), sort_keys=True, default=str).encode()).hexdigest()[:16]


def sampler_digest(plan: DaemonPlan) -> str:
    """What a sampler was last configured with: its plugin items and advertisers."""
    return hashlib.sha256(json.dumps([plan.samplers, plan.advertisers], sort_keys=True,
                                     default=str).encode()).hexdigest()[:16]


class LazyPlans(dict):
    """Daemon plans, each made when first used: a no-op pass needs few of them in full.

    Producers named in ``held_back`` are left out of every plan.
    """

    def __init__(self, planner: Planner, held_back: frozenset = frozenset()):
        super().__init__()
        self.planner = planner
        self.held_back = held_back

    def __missing__(self, name: str) -> DaemonPlan:
        plan = self.planner.plan(name)
        if self.held_back:
            plan.producers = [item for item in plan.producers if item["name"] not in self.held_back]
        self[name] = plan
        return plan


def parallel(function: Callable, names: List[str], workers: int) -> Dict[str, object]:
    """Run ``function(name)`` for every name on a thread pool; the transport's prints are swallowed."""
    if not names:
        return {}
    with contextlib.redirect_stdout(io.StringIO()):
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
            return dict(zip(names, pool.map(function, names)))


def _int_or_none(value) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fresh(visible: Dict[str, Optional[int]], set_name: str, interval, now: float) -> bool:
    """The set is at an aggregator, updated within a few of its sampling intervals."""
    if set_name not in visible or "${" in set_name:
        return False
    stamp = visible[set_name]
    if not stamp or not isinstance(interval, int):
        return True  # no transaction yet (0): the first update is still ahead
    return now - stamp <= STALE_AFTER_INTERVALS * interval / 1e6 + CLOCK_SLACK_S


class Reconciler:
    def __init__(self, cluster: Cluster, state: dict, options: Options):
        self.cluster = cluster
        self.state = state
        self.options = options
        self.levels = cluster.levels()
        self.aggregators = list(dict.fromkeys(name for group in cluster.aggregators for name in group.daemons))
        self.samplers = [name for name, level in self.levels.items() if level == 0]
        self.sampler_set = set(self.samplers)
        self.plans: Dict[str, DaemonPlan] = {}
        self.sampler_configs: Dict[str, Dict[str, str]] = {}
        self.sampler_digests: Dict[str, str] = {}

    # 1. probe -------------------------------------------------------------
    def probe_aggregators(self, default_plans: Dict[str, DaemonPlan]) -> Dict[str, bool]:
        errors = parallel(lambda name: probe(default_plans[name], self.options), self.aggregators,
                          self.options.workers)
        failures = dict(self.state.get("failures", {}))
        alive = {}
        for name in self.aggregators:
            failures[name] = 0 if errors[name] is None else failures.get(name, 0) + 1
            alive[name] = failures[name] < self.options.dead_after
        self.state["failures"] = failures
        self.probe_errors = {name: error for name, error in errors.items() if error}
        return alive

    # 2. assign ------------------------------------------------------------
    def assign(self, alive: Dict[str, bool]):
        previous = self.state.get("assignments", {})
        results, moved, failed = {}, [], []
        for group in self.cluster.aggregators:
            before = previous.get(group.key) or {}
            result = balance([p.name for p in group.producers], {n: alive[n] for n in group.daemons},
                             previous=before)
            if result.failsafe:
                failed.append({"group": group.key, "reason": result.reason})
                if not before:  # nothing to keep: the initial cut, applied nowhere
                    result = balance([p.name for p in group.producers], group.daemons)
            results[group.key] = result
            for producer in group.producers:
                old, new = before.get(producer.name), result.assignment.get(producer.name)
                if old is not None and new is not None and old != new:
                    moved.append({"producer": producer.name, "from": old, "to": new, "group": group.key})
        return results, moved, failed

    # 3. apply -------------------------------------------------------------
    def on_daemon(self, name: str, work: Callable) -> DaemonOutcome:
        """Run ``work(client, outcome)`` on one daemon; a failure is kept in the outcome."""
        outcome = DaemonOutcome(name)
        client = client_for(self.plans[name], self.options)
        try:
            work(client, outcome)
        except LdmsdError as exc:
            outcome.error = str(exc)
            outcome.unreachable = isinstance(exc, LdmsdUnreachable)
            outcome.applied += getattr(exc, "applied", [])
        finally:
            client.close()
        return outcome

    def apply_sampler(self, name: str) -> DaemonOutcome:
        plan = self.plans[name]
        applied_configs = self.state.get("sampler_configs", {}).get(name, {})

        def work(client, outcome):
            empty = True
            for kind in SAMPLER_KINDS:
                wanted = normalize_config(kind, getattr(plan, kind))
                if not wanted:
                    continue
                facts = KINDS[kind].facts(client)
                empty = empty and not facts
                result = plan_changes(kind, "merged", wanted, facts, keep_started=True)
                commands = self.with_auth_domains(plan, result, outcome, kind)
                if kind == "samplers":
                    touched = {command.attrs[0][1] for command in commands}
                    for item in wanted:
                        # ldmsd does not report a config: a changed one (as recorded) re-creates the instance.
                        instance = item["name"]
                        if instance in facts and instance not in touched and instance in applied_configs \
                                and applied_configs[instance] != config_digest(item):
                            commands += KINDS[kind].change_commands(item, facts[instance], ["config"], Context())
                    if not facts and commands:
                        # Found with no plugin loaded (started bare): its config file's env lines
                        # first, so that ${COMPID} and the like expand as they would there.
                        commands = [command for command in plan.startup if command.verb == "env"] + commands
                self.send(client, commands, outcome)
            if empty:
                self.send(client, self.listeners(plan, outcome), outcome)
            self.sampler_configs[name] = {item["name"]: config_digest(item) for item in plan.samplers}
            self.sampler_digests[name] = sampler_digest(plan)
            outcome.reconfigured = empty and bool(outcome.commands)

        return self.on_daemon(name, work)

    def apply_aggregator(self, name: str) -> DaemonOutcome:
        plan = self.plans[name]

        def work(client, outcome):
            empty = True
            for kind in KINDS:
                wanted = normalize_config(kind, getattr(plan, kind))
                if not wanted:
                    continue
                result = plan_for(client, kind, "merged", wanted, keep_started=True)
                empty = empty and not result.before
                self.send(client, self.with_auth_domains(plan, result, outcome, kind), outcome)
            if empty:
                self.send(client, self.listeners(plan, outcome), outcome)
            outcome.reconfigured = empty and bool(outcome.commands)

        return self.on_daemon(name, work)

    @staticmethod
    def with_auth_domains(plan: DaemonPlan, result, outcome: DaemonOutcome, kind: str) -> list:
        """``result``'s commands, after an auth_add of each domain they name that the daemon has not shown."""
        outcome.kept += [dict(entry, kind=kind) for entry in result.kept]
        outcome.auths.update(item.get("auth") for item in result.before if item.get("auth"))
        commands = []
        for command in result.commands:
            domain = command.get("auth") if command.verb in ("prdcr_add", "advertiser_add") else None
            if domain and domain != DEFAULT_AUTH_DOMAIN and domain not in outcome.auths and domain in plan.auths:
                commands.append(auth_command(plan.auths[domain]))
                outcome.auths.add(domain)
            commands.append(command)
        return commands

    def listeners(self, plan: DaemonPlan, outcome: DaemonOutcome) -> list:
        """The start-up auth domains and listeners of a daemon found empty, but the one we reached it by."""
        control = plan.control or {}
        commands = []
        for command in plan.startup:
            if command.verb == "auth_add" and command.get("name") not in outcome.auths | {DEFAULT_AUTH_DOMAIN}:
                outcome.auths.add(command.get("name"))
                commands.append(command)
            elif command.verb == "listen" and (command.get("xprt"), str(command.get("port"))) != (
                    control.get("xprt"), str(control.get("port"))):
                commands.append(command)
        return commands

    def samplers_to_check(self, alive: Dict[str, bool]) -> List[str]:
        """Samplers that need a look: all but those known to be as configured.

        A sampler is left alone when the state records that it was configured
        with today's plan and every set it makes is fresh at an aggregator
        that pulls from it: a restarted, stopped or unreachable sampler loses
        its sets there. One status read per aggregator instead of three per sampler.
        """
        recorded = self.state.get("sampler_digests", {})
        candidates = [name for name in self.samplers if name in recorded]
        if not candidates:
            return list(self.samplers)
        feeders = [name for group in self.cluster.aggregators
                   if any(producer.daemon in self.sampler_set for producer in group.producers)
                   for name in group.daemons if alive.get(name)]
        now = time.time()
        fresh = {}
        for replies in self.read_status(list(dict.fromkeys(feeders)), "prdcr_set_status").values():
            for reply in replies:
                if reply.get("state") in ("READY", "UPDATING"):
                    fresh[reply.get("inst_name")] = _int_or_none(reply.get("timestamp.sec"))
        settled = set()
        for name in candidates:
            plan = self.plans[name]
            if recorded[name] != sampler_digest(plan):
                continue
            sets = [(str(config.get("instance")), item.get("interval")) for item in plan.samplers
                    for config in item.get("config", []) if isinstance(config, dict)]
            if sets and all(_fresh(fresh, set_name, interval, now) for set_name, interval in sets):
                settled.add(name)
        return [name for name in self.samplers if name not in settled]

    def release_producers(self, name: str) -> DaemonOutcome:
        """Stop the cluster's producers this aggregator no longer holds (4.5.3 cannot delete them)."""
        mine = {item["name"] for item in self.plans[name].producers}
        ours = {p.name for group in self.cluster.aggregators if name in group.daemons for p in group.producers}

        def work(client, outcome):
            producers = KINDS["producers"]
            facts = producers.facts(client)
            self.send(client, [command for producer, fact in sorted(facts.items())
                               if producer in ours and producer not in mine and fact["running"]
                               for command in producers.stop_commands(fact["item"])], outcome)

        return self.on_daemon(name, work)

    def send(self, client, commands, outcome: DaemonOutcome):
        outcome.commands += [command.text() for command in commands]
        if commands and not self.options.check:
            outcome.applied += apply_commands(client, commands)

    # 4. report ------------------------------------------------------------
    def expected_sets(self) -> Dict[str, str]:
        """Sampler set instance -> sampler daemon."""
        expected = {}
        for name in self.samplers:
            for item in self.plans[name].samplers:
                for config in item.get("config", []):
                    if isinstance(config, dict) and config.get("instance"):
                        expected[str(config["instance"])] = name
        return expected

    def set_intervals(self) -> Dict[str, int]:
        """Sampler set instance -> the slowest update on its way up (sampler or updater interval, µs)."""
        slowest_updater = max((item.get("interval") or 0 for name in self.aggregators
                               for item in self.plans[name].updaters), default=0)
        intervals = {}
        for name in self.samplers:
            for item in self.plans[name].samplers:
                for config in item.get("config", []):
                    if isinstance(config, dict) and config.get("instance"):
                        intervals[str(config["instance"])] = max(item.get("interval") or 0, slowest_updater)
        return intervals

    def read_status(self, names: List[str], verb: str) -> Dict[str, list]:
        """One status request to each daemon, in parallel; an unreachable one answers []."""
        def status(name):
            client = client_for(self.plans[name], self.options)
            try:
                return client.status(verb)
            except LdmsdError:
                return []
            finally:
                client.close()

        return parallel(status, names, self.options.workers)

    def read_views(self, names: List[str]) -> Dict[str, DaemonView]:
        """prdcr_status and prdcr_set_status of each daemon, in parallel; one that fails carries its error."""
        def view(name):
            client = client_for(self.plans[name], self.options)
            try:
                return DaemonView.from_replies(client.status("prdcr_status"), client.status("prdcr_set_status"))
            except LdmsdError as exc:
                return DaemonView(error=str(exc))
            finally:
                client.close()

        return parallel(view, names, self.options.workers)

    def top_aggregators(self, alive: Dict[str, bool]) -> List[str]:
        top_level = max((self.levels[name] for name in self.aggregators), default=0)
        return [name for name in self.aggregators if self.levels[name] == top_level and alive.get(name)]

    def visible_at_top(self, alive: Dict[str, bool], intervals: Dict[str, int]) -> set:
        """Sets READY with a fresh update time at a top-level aggregator."""
        now = time.time()
        views = self.read_views(self.top_aggregators(alive))
        return {instance for instance, interval in intervals.items()
                if any(view.fresh(instance, interval, now) for view in views.values())}

    def path_up(self, daemon: str, assignments, alive: Dict[str, bool]) -> List[tuple]:
        """(aggregator, producer) hops from ``daemon`` to the top, following the assignment."""
        path = []
        while len(path) < len(self.aggregators):
            step = next(((holder, producer.name) for group in self.cluster.aggregators for producer in group.producers
                         if producer.daemon == daemon
                         for holder in [assignments[group.key].assignment.get(producer.name)]
                         if holder and alive.get(holder)), None)
            if step is None:
                break
            path.append(step)
            daemon = step[0]
        return path

    def missing_sets(self, alive, sampler_outcomes, assignments) -> List[dict]:
        expected = self.expected_sets()
        intervals = self.set_intervals()
        down = {name for name, outcome in sampler_outcomes.items() if outcome.unreachable}
        # A dead sampler's sets may linger upstream, stale: they count as missing.
        reachable = {set_name for set_name, daemon in expected.items() if daemon not in down}
        deadline = time.monotonic() + (0 if self.options.check else self.options.settle)
        visible = self.visible_at_top(alive, intervals)
        while not reachable <= visible and time.monotonic() < deadline:
            time.sleep(1.0)
            visible = self.visible_at_top(alive, intervals)
        missing = sorted((reachable - visible) | (set(expected) - reachable))
        if not missing:
            return []
        views = self.read_views([name for name in self.aggregators if alive.get(name)])
        now = time.time()
        report = []
        for set_name in missing:
            daemon = expected[set_name]
            if daemon in down:
                reason, detail = "sampler down", sampler_outcomes[daemon].error
            else:
                path = self.path_up(daemon, assignments, alive)
                reason, detail = diagnose(set_name, path, views, intervals[set_name], now)
            report.append({"set": set_name, "sampler": daemon, "reason": reason, "detail": detail})
        return report

    def held_back(self, alive: Dict[str, bool], plans: Dict[str, DaemonPlan]) -> frozenset:
        """Producers that point at a dead aggregator and whose holder still reports them CONNECTED
        (or STOPPED, as an earlier pass left them): left out of the plans, so that they are stopped.

        ldmsd keeps a hung peer's producer CONNECTED with its sets frozen, and
        those sets block the same sets arriving through the producers' new
        holders. A peer that is gone leaves them disconnected, holding nothing:
        they are left alone and reconnect by themselves when it is back.
        """
        dead = {name for name in self.aggregators if not alive[name]}
        pointing = {producer.name for group in self.cluster.aggregators for producer in group.producers
                    if producer.daemon in dead}
        if not pointing:
            return frozenset()
        holders = list(dict.fromkeys(name for group in self.cluster.aggregators
                                     if any(producer.name in pointing for producer in group.producers)
                                     for name in group.daemons if alive[name]))

        def frozen(name: str) -> set:
            client = client_for(plans[name], self.options)
            try:
                return {reply.get("name") for reply in client.status("prdcr_status")
                        if reply.get("name") in pointing and reply.get("state") in HELD_STATES}
            except LdmsdError:
                return set(pointing)  # cannot tell: as for a hung peer
            finally:
                client.close()

        return frozenset().union(*parallel(frozen, holders, self.options.workers).values())

    # the pass ---------------------------------------------------------------
    @contextlib.contextmanager
    def phase(self, name: str, daemons: int):
        """Time one step of the pass; the report lists them, in order."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append({"phase": name, "daemons": daemons, "seconds": round(time.monotonic() - started, 3)})

    def run(self) -> dict:
        started = time.monotonic()
        self.phases = []
        with self.phase("probe", len(self.aggregators)):
            probe_plans = LazyPlans(Planner(self.cluster, group_assignments(self.cluster)))
            alive = self.probe_aggregators(probe_plans)
        with self.phase("balance", len(self.aggregators)):
            assignments, moved, failed = self.assign(alive)
            self.plans = LazyPlans(Planner(self.cluster, assignments), self.held_back(alive, probe_plans))
        live_aggregators = [name for name in self.aggregators if alive[name]]
        with self.phase("sampler sets", len(self.samplers)):
            checking = self.samplers_to_check(alive)
        with self.phase("samplers", len(checking)):
            sampler_outcomes = parallel(self.apply_sampler, checking, self.options.workers)
        # Every level, lowest first, so an aggregator's sources are configured before it.
        # A level releases what it no longer holds before the next level is configured, so that
        # the level above never pulls the same set from two daemons of this level.
        aggregator_outcomes, released = {}, {}
        for level in sorted({self.levels[name] for name in live_aggregators}):
            names = [name for name in live_aggregators if self.levels[name] == level]
            with self.phase("level %d aggregators" % level, len(names)):
                aggregator_outcomes.update(parallel(self.apply_aggregator, names, self.options.workers))
            with self.phase("level %d release" % level, len(names)):
                released.update(parallel(self.release_producers,
                                         [name for name in names if not aggregator_outcomes[name].error],
                                         self.options.workers))
        outcomes = list(sampler_outcomes.values()) + list(aggregator_outcomes.values()) + list(released.values())
        errors = [{"daemon": o.name, "error": o.error, "applied": o.applied} for o in outcomes
                  if o.error and not (o.name in self.sampler_set and o.unreachable)]
        commands = {}
        for outcome in outcomes:
            if outcome.commands:
                commands.setdefault(outcome.name, []).extend(outcome.commands)
        report = {
            "alive": [name for name in self.aggregators if alive[name]],
            "dead": [name for name in self.aggregators if not alive[name]],
            "unresponsive": sorted(self.probe_errors),  # "unreachable" would mark the Ansible task unreachable
            "samplers_down": sorted(o.name for o in sampler_outcomes.values() if o.unreachable),
            "moved": moved,
            "reconfigured": sorted(o.name for o in outcomes if o.reconfigured),
            "restart_needed": [dict(entry, daemon=o.name) for o in outcomes for entry in o.kept],
            "failed_groups": failed,
            "errors": errors,
            "commands": commands,
            "changed": bool(commands),
            "check_mode": self.options.check,
        }
        with self.phase("verify", len(live_aggregators)):
            report["missing_sets"] = self.missing_sets(alive, sampler_outcomes, assignments)
        report["phases"] = self.phases
        report["converged"] = not failed and not errors and not report["missing_sets"]
        report["duration_s"] = round(time.monotonic() - started, 3)
        if not self.options.check:
            kept = dict(self.state.get("assignments", {}))
            for group_key, result in assignments.items():
                if not any(f["group"] == group_key for f in failed) or group_key not in kept:
                    kept[group_key] = result.assignment
            self.state["assignments"] = kept
            configs = dict(self.state.get("sampler_configs", {}))
            configs.update(self.sampler_configs)
            self.state["sampler_configs"] = configs
            digests = dict(self.state.get("sampler_digests", {}))
            digests.update((name, digest) for name, digest in self.sampler_digests.items()
                           if not sampler_outcomes[name].error)
            self.state["sampler_digests"] = digests
        return report


def summary(report: dict) -> str:
    lines = ["reconcile: %d alive, %d dead aggregators; %d producers moved; %d daemons reconfigured; "
             "%d sets missing at the top; changed=%s; %.1f s"
             % (len(report["alive"]), len(report["dead"]), len(report["moved"]), len(report["reconfigured"]),
                len(report["missing_sets"]), str(report["changed"]).lower(), report["duration_s"])]
    if report.get("phases"):
        lines.append("phases: " + ", ".join("%s %d in %.1f s" % (phase["phase"], phase["daemons"], phase["seconds"])
                                            for phase in report["phases"]))
    if report["dead"]:
        lines.append("dead: " + ", ".join(report["dead"]))
    for failed in report["failed_groups"]:
        lines.append("group %s: %s" % (failed["group"], failed["reason"]))
    for kept in report.get("restart_needed", []):
        lines.append("%s: %s %s left running unchanged (%s differ): restart the daemon to apply"
                     % (kept["daemon"], kept["kind"][:-1], kept["name"], ", ".join(kept["differs"])))
    for error in report["errors"]:
        lines.append("%s: %s" % (error["daemon"], error["error"]))
    return "\n".join(lines)
