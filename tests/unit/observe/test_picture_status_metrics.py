"""The topology picture, status.html and the metrics file, from a cluster and a reconcile report."""

import os
import re
import xml.etree.ElementTree as ET

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file, load_text
from ansible_collections.hpc.ldms.plugins.module_utils.observe.metrics import MISSING_REASONS, write_metrics
from ansible_collections.hpc.ldms.plugins.module_utils.observe.picture import topology_boxes, topology_svg
from ansible_collections.hpc.ldms.plugins.module_utils.observe.run_outputs import metrics_path, write_run_outputs
from ansible_collections.hpc.ldms.plugins.module_utils.observe.status_page import status_html

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "cluster.yaml")
L1 = "l1-agg-[1-4]"


def example():
    return build_cluster(load_file(EXAMPLE))


def report(**changes):
    base = {
        "alive": ["l1-agg-1", "l1-agg-3", "l1-agg-4", "l2-agg"], "dead": ["l1-agg-2"], "unresponsive": ["l1-agg-2"],
        "samplers_down": ["sampler-7"],
        "moved": [{"producer": "node-2-10002", "from": "l1-agg-2", "to": "l1-agg-1", "group": L1},
                  {"producer": "node-6-10002", "from": "l1-agg-2", "to": "l1-agg-3", "group": L1}],
        "reconfigured": [], "failed_groups": [], "errors": [], "commands": {}, "changed": True, "check_mode": False,
        "missing_sets": [{"set": "sampler-7/meminfo1", "sampler": "sampler-7", "reason": "sampler down"},
                         {"set": "sampler-3/vmstat1", "sampler": "sampler-3", "reason": "no updater matches"}],
        "converged": False, "duration_s": 2.5,
    }
    base.update(changes)
    return base


def texts(svg):
    return [element.text for element in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_render_picture_has_every_group_and_store_and_edges():
    columns = topology_boxes(example())
    assert [[box.title for box in column] for column in columns] == [
        ["samplers sampler-[1-10]"], ["L1 " + L1], ["L2 l2-agg"],
        ["store sos-meminfo", "store sos-vmstat", "store csv-procstat"]]
    assert all(box.state == "unknown" for column in columns for box in column)
    svg = topology_svg(columns)
    assert "10 daemons: meminfo1, vmstat1, procstat1" in texts(svg)
    # samplers -> L1, L1 -> L2, L2 -> each of the 3 stores
    assert len(ET.fromstring(svg).findall("{http://www.w3.org/2000/svg}path")) == 5


def test_picture_colours_dead_moved_and_missing():
    columns = topology_boxes(example(), report())
    samplers, level1, level2, stores = columns
    assert samplers[0].state == "dead"
    assert ("down: sampler-7", "dead") in samplers[0].lines
    assert ("sets missing: sampler-3", "missing") in samplers[0].lines
    assert level1[0].state == "dead"
    assert ("\u25cf l1-agg-2 dead", "dead") in level1[0].lines
    assert ("\u25cf l1-agg-1 took 1 producers", "moved") in level1[0].lines
    assert level2[0].state == "alive" and all(box.state == "alive" for box in stores)


def test_big_groups_collapse_to_counts_and_list_problems():
    lines = ["plugin: hpc.ldms.cluster", "daemons:",
             '  - {names: "s-[1-10000]", hosts: "n-[1-10000]", endpoints: [{names: "n-[1-10000]-e", ports: 1}]}',
             '  - {names: "a-[1-100]", hosts: "g-[1-100]", endpoints: [{names: "g-[1-100]-e", ports: 2}]}',
             "aggregators:",
             '  - {daemons: "a-[1-100]", peers: [{daemons: "s-[1-10000]", endpoints: "n-[1-10000]-e", reconnect: 1s,'
             " type: active, updaters: [{interval: 1s}]}]}",
             "samplers:", '  - {daemons: "s-[1-10000]", plugins: [m]}',
             "plugins:", "  m: {name: meminfo, interval: 1s, config: [{schema: meminfo}]}"]
    cluster = build_cluster(load_text("\n".join(lines)))
    run = report(alive=["a-%d" % i for i in range(3, 101)], dead=["a-1", "a-2"], unresponsive=["a-1", "a-2"],
                 samplers_down=["s-%d" % i for i in range(100, 200)], moved=[], missing_sets=[])
    columns = topology_boxes(cluster, run)
    assert sum(len(box.lines) for column in columns for box in column) < 10
    assert ("down: s-[100-199]", "dead") in columns[0][0].lines
    assert ("dead: a-[1-2]", "dead") in columns[1][0].lines and ("98 alive", "alive") in columns[1][0].lines
    assert len(topology_svg(columns)) < 5000


def test_status_page_is_self_contained_and_lists_problems():
    page = status_html(example(), report(), "cluster.yaml", now=0)
    assert "1970-01-01 00:00:00 UTC" in page and "needs attention" in page
    assert not re.search(r"(src|href)=|<script|@import|url\(", page)
    assert '<table id="problems">' in page and "<td>l1-agg-2</td><td>aggregator</td><td>dead</td>" in page
    assert "<td>sampler-3/vmstat1</td><td>sampler-3</td><td>no updater matches</td>" in page
    assert "<td>node-6-10002</td><td>l1-agg-2</td><td>l1-agg-3</td>" in page
    assert "no updater matches: 1, sampler down: 1" in page
    healthy = status_html(example(), report(dead=[], unresponsive=[], samplers_down=[], moved=[], missing_sets=[],
                                            converged=True))
    assert "healthy" in healthy and 'id="moves">none' in healthy


def families(path):
    with open(path, encoding="utf-8") as handle:
        return {family.name: family for family in text_string_to_metric_families(handle.read())}


def sample(found, name, **labels):
    family = found[name.removesuffix("_total")]
    return [s.value for s in family.samples if s.labels == labels and s.name == name][0]


def test_metrics_from_a_run_and_carried_over(tmp_path):
    path = str(tmp_path / "sub" / "hpc_ldms.prom")
    state = {"assignments": {L1: {"node-%d-10002" % i: "l1-agg-%d" % (1 + i % 3) for i in range(1, 11)},
                             "l2-agg": {"agg-%d-10401" % i: "l2-agg" for i in range(1, 5)}}}
    write_metrics(path, example(), report(), state, success=True, now=1000.0)
    found = families(path)
    assert sample(found, "hpc_ldms_aggregator_up", aggregator="l1-agg-2", group=L1, level="1") == 0
    assert sample(found, "hpc_ldms_aggregator_up", aggregator="l2-agg", group="l2-agg", level="2") == 1
    assert sample(found, "hpc_ldms_sampler_up", sampler="sampler-7") == 0
    assert sample(found, "hpc_ldms_sampler_up", sampler="sampler-1") == 1
    assert sample(found, "hpc_ldms_producers", aggregator="l1-agg-2") == 4
    assert sample(found, "hpc_ldms_producers", aggregator="l2-agg") == 4
    assert {s.labels["reason"]: s.value for s in found["hpc_ldms_missing_sets"].samples} == {
        reason: {"sampler down": 1, "no updater matches": 1}.get(reason, 0) for reason in MISSING_REASONS}
    assert sample(found, "hpc_ldms_producers_moved_total") == 2
    assert sample(found, "hpc_ldms_reconcile_duration_seconds") == 2.5
    assert sample(found, "hpc_ldms_reconcile_last_success_timestamp_seconds") == 1000.0
    assert not any(name.endswith("_created") for name in found)
    # A failed run adds its moves and keeps the last success time.
    write_metrics(path, example(), report(moved=report()["moved"][:1]), state, success=False, now=2000.0)
    found = families(path)
    assert sample(found, "hpc_ldms_producers_moved_total") == 3
    assert sample(found, "hpc_ldms_reconcile_runs_total") == 2
    assert sample(found, "hpc_ldms_reconcile_success") == 0
    assert sample(found, "hpc_ldms_reconcile_last_success_timestamp_seconds") == 1000.0
    assert sample(found, "hpc_ldms_reconcile_last_run_timestamp_seconds") == 2000.0
    assert os.listdir(tmp_path / "sub") == ["hpc_ldms.prom"]  # no temporary file left


def test_run_outputs_beside_the_report(tmp_path):
    assert metrics_path(str(tmp_path), None) == str(tmp_path / "hpc_ldms.prom")
    write_run_outputs(str(tmp_path), metrics_path(str(tmp_path), None), example(), report(), {}, "cluster.yaml")
    assert sorted(os.listdir(tmp_path)) == ["hpc_ldms.prom", "status.html"]
    write_run_outputs(str(tmp_path / "off"), "", example(), report(), {})
    assert os.listdir(tmp_path / "off") == ["status.html"]
