"""The reconcile tells a daemon it cannot reach from one that fails, by the error's type, not its text."""

import os
import sys

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient, LdmsdError, LdmsdUnreachable
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.reconcile import engine

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "simulator"))
import in_process  # noqa: E402
import ldmsd_sim  # noqa: E402
from harness import free_ports  # noqa: E402

CLUSTER = """
daemons:
  - names: "samp-[1-2]"
    hosts: 127.0.0.1
    endpoints:
      - {names: "samp-[1-2]-ep", ports: "10001,10002"}
  - names: "l1-[1-2]"
    hosts: 127.0.0.1
    endpoints:
      - {names: "l1-[1-2]-ep", ports: "10011,10012"}
aggregators:
  - daemons: "l1-[1-2]"
    peers:
      - {daemons: "samp-[1-2]", endpoints: "samp-[1-2]-ep", reconnect: 1s, type: active,
          updaters: [{interval: 1s, mode: pull}]}
samplers:
  - daemons: "samp-[1-2]"
    plugins: [meminfo1]
plugins:
  meminfo1: {name: meminfo, interval: 1s, config: [{schema: meminfo}]}
"""


def failing(error):
    """A client whose connection fails with ``error``."""
    class Failing(in_process.InProcessClient):
        def connect(self):
            raise error

    return Failing


@pytest.fixture
def run(monkeypatch):
    daemons = {}

    def reconcile(failures, dead_after=2, state=None):
        def client_for(plan, options):
            if plan.name in failures:
                return failures[plan.name]()
            return in_process.InProcessClient(daemons.setdefault(plan.name, ldmsd_sim.Daemon(plan.name, "none", None)))

        monkeypatch.setattr(engine, "client_for", client_for)
        state = {} if state is None else state
        options = engine.Options(dead_after=dead_after, settle=0.0, workers=4)
        return engine.Reconciler(build_cluster(load_text(CLUSTER)), state, options).run(), state

    return reconcile


def test_an_unreachable_sampler_is_down_whatever_its_message(run):
    report, _state = run({"samp-2": failing(LdmsdUnreachable("no route to samp-2"))})
    assert report["samplers_down"] == ["samp-2"]
    assert [error["daemon"] for error in report["errors"]] == []
    down = [entry for entry in report["missing_sets"] if entry["sampler"] == "samp-2"]
    assert down == [{"set": "samp-2/meminfo1", "sampler": "samp-2", "reason": "sampler down",
                     "detail": "no route to samp-2"}]


def test_a_sampler_failing_otherwise_is_an_error_not_down(run):
    message = "cannot reach ldmsd at the sampler: the words alone decide nothing"
    report, _state = run({"samp-2": failing(LdmsdError(message))})
    assert report["samplers_down"] == []
    assert report["errors"] == [{"daemon": "samp-2", "error": message, "applied": []}]
    assert all(entry["reason"] != "sampler down" for entry in report["missing_sets"])


def test_an_unreachable_aggregator_is_dead_after_dead_after_probes(run):
    unreachable = {"l1-1": failing(LdmsdUnreachable("no route to l1-1"))}
    first, state = run(unreachable)
    assert first["unresponsive"] == ["l1-1"] and first["dead"] == []
    second, state = run(unreachable, state=state)
    assert second["dead"] == ["l1-1"] and second["alive"] == ["l1-2"]
    assert {move["to"] for move in second["moved"]} == {"l1-2"}
    assert state["failures"] == {"l1-1": 2, "l1-2": 0}


def test_the_client_raises_unreachable_for_a_closed_port():
    client = LdmsdClient(port=free_ports(1)[0], host="127.0.0.1", timeout=1.0, ldms_prefix=in_process.PREFIX)
    with pytest.raises(LdmsdUnreachable, match="cannot reach ldmsd at 127.0.0.1"):
        client.status("daemon_status")
