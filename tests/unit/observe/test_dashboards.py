"""Grafana dashboards generated from the bundled example cluster file."""

import json
import os

import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file, load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.observe.dashboards import (
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    dashboard_files,
    sos_sources,
    sync_dashboards,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "cluster.yaml")
SCHEMA_FILES = ["hpc-ldms-schema-ldms_data-meminfo.json", "hpc-ldms-schema-ldms_data-vmstat.json"]
GROUP_FILES = ["hpc-ldms-group-l1-agg-1-4-596d4a56a0.json", "hpc-ldms-group-l2-agg.json"]


def example():
    return build_cluster(load_file(EXAMPLE))


def generated(**kwargs):
    return {name: json.loads(text) for name, text in dashboard_files(example(), **kwargs).items()}


def targets(dashboard):
    return [target for panel in dashboard["panels"] for target in panel.get("targets", [])]


def variables(dashboard):
    return {var["name"]: var for var in dashboard["templating"]["list"]}


def test_one_dashboard_per_sos_schema_and_per_group():
    files = generated()
    assert sorted(files) == sorted(SCHEMA_FILES + GROUP_FILES)
    # csv-procstat is a CSV store: the SOS data source cannot query it.
    assert [(s.container, s.schema, s.policies) for s in sos_sources(example())] == [
        ("ldms_data", "meminfo", ["sos-meminfo"]), ("ldms_data", "vmstat", ["sos-vmstat"])]
    for name, dashboard in files.items():
        assert dashboard["uid"] + ".json" == name and len(dashboard["uid"]) <= 40
        assert dashboard["schemaVersion"] == Dashboard().schema_version == 41
        assert Dashboard.from_json(dashboard).uid == dashboard["uid"]
        assert "hpc-ldms" in dashboard["tags"]


def test_schema_panels_query_their_container_and_schema():
    cluster = example()
    for policy, name in zip(cluster.stores[:2], SCHEMA_FILES):
        dashboard = generated()[name]
        found = variables(dashboard)
        assert found["container"]["current"]["value"] == policy.container
        assert found["schema"]["current"]["value"] == policy.schema
        assert found["component_id"]["current"]["value"] == "component_id >= 0"
        assert found["component_id"]["allowCustomValue"]
        queries = targets(dashboard)
        assert len(queries) == 2
        for query in queries:
            assert query["datasource"] == {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
            assert (query["container"], query["schema"], query["filters"]) == ("$container", "$schema", "$component_id")
            assert query["queryType"] == "metrics"
        assert {query["format"] for query in queries} == {"time_series", "table"}
        series = [panel for panel in dashboard["panels"] if panel["type"] == "timeseries"]
        assert series[0]["repeat"] == "metric" and series[0]["targets"][0]["target"] == "$metric"
    meminfo = variables(generated()[SCHEMA_FILES[0]])["metric"]
    assert meminfo["multi"] and meminfo["current"]["value"] == ["MemFree", "MemAvailable", "Cached", "Active"]
    about = generated()[SCHEMA_FILES[0]]["panels"][0]["options"]["content"]
    assert "l2-agg" in about and "sos-meminfo" in about and "10 samplers (sampler-[1-10])" in about


def test_group_overviews():
    files = generated()
    level1, level2 = files[GROUP_FILES[0]], files[GROUP_FILES[1]]
    assert level1["title"] == "LDMS L1 l1-agg-[1-4] overview" and level2["title"] == "LDMS L2 l2-agg overview"
    text = level1["panels"][0]["options"]["content"]
    assert "l1-agg-[1-4] (4)" in text and "**Producers**: 10, from sampler-[1-10]" in text
    text = level2["panels"][0]["options"]["content"]
    assert "**Store csv-procstat**: store_csv into ldms_data, schema procstat (not queryable" in text
    for overview in (level1, level2):  # both carry the two SOS schemas, stored downstream or on the group
        assert sorted((q["container"], q["schema"]) for q in targets(overview)) == [
            ("ldms_data", "meminfo"), ("ldms_data", "vmstat")]
        assert all(q["filters"] == "component_id >= 0" for q in targets(overview))
        assert overview["links"][0]["tags"] == ["hpc-ldms", "schema"]
    assert not any("expr" in q for q in targets(level1))
    with_prometheus = generated(prometheus_uid="prom")[GROUP_FILES[0]]
    exprs = [q["expr"] for q in targets(with_prometheus) if "expr" in q]
    assert exprs == ['hpc_ldms_aggregator_up{group="l1-agg-[1-4]"}',
                     'hpc_ldms_producers{aggregator=~"l1\\\\-agg\\\\-1|l1\\\\-agg\\\\-2|l1\\\\-agg\\\\-3|l1\\\\-agg\\\\-4"}']


def test_component_ids_from_the_cluster_file_label_hosts():
    text = open(EXAMPLE, encoding="utf-8").read().replace(
        "      - schema: meminfo\n", "      - schema: meminfo\n        component_id: 7\n")
    files = dashboard_files(build_cluster(load_text(text)))
    options = variables(json.loads(files[SCHEMA_FILES[0]]))["component_id"]["options"]
    assert [(o["text"], o["value"]) for o in options[:2]] == [("all", "component_id >= 0"), ("node-1 (7)", "component_id == 7")]


def test_datasource_uid_matches_the_grafana_role():
    with open(os.path.join(REPO, "roles", "grafana", "defaults", "main.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["grafana_datasource_uid"] == DATASOURCE_UID
    other = generated(datasource_uid="mine")
    assert {q["datasource"]["uid"] for d in other.values() for q in targets(d)} == {"mine"}


def test_sync_is_idempotent_prunes_and_honours_check_mode(tmp_path):
    files = dashboard_files(example())
    assert sync_dashboards(files, str(tmp_path / "d"), check_mode=True) == (sorted(files), [])
    assert not (tmp_path / "d").exists()
    assert sync_dashboards(files, str(tmp_path / "d")) == (sorted(files), [])
    (tmp_path / "d" / "hpc-ldms-group-old.json").write_text("{}")
    (tmp_path / "d" / "mine.json").write_text("{}")
    assert sync_dashboards(dashboard_files(example()), str(tmp_path / "d")) == ([], ["hpc-ldms-group-old.json"])
    assert sorted(os.listdir(tmp_path / "d")) == sorted(list(files) + ["mine.json"])
