import os
import tempfile
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file, load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import header
from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import render_to_dir

HERE = os.path.dirname(__file__)
EXAMPLE = os.path.join(HERE, "..", "..", "..", "examples", "cluster.yaml")

FEATURES = """
daemons:
  - names: "samp-[1-4]"
    hosts: "n[1-4]"
    environment: {FOO: bar}
    set_memory: 512M
    metric_sets_default_authz: {uid: 0, gid: 0, perm: "rw-r-----"}
    msg_enable: true
    endpoints:
      - names: "n[1-4]-411"
        ports: 411
        auth: {name: ovis, plugin: ovis, conf: /etc/secret.conf}
  - names: "agg1-[1-2]"
    hosts: "a[1-2]"
    endpoints:
      - names: "a[1-2]-511"
        ports: 511
        bind_all: true
        auth: {name: munge, plugin: munge}
  - names: agg2
    hosts: top
    endpoints:
      - names: top-611
        ports: 611
        xprt: rdma
aggregators:
  - daemons: "agg1-[1-2]"
    peers:
      - daemons: "samp-[1-4]"
        endpoints: "n[1-4]-411"
        reconnect: 20s
        type: active
        rail: 2
        quota: 1000000
        rx_rate: 2000
        perm: "rw-r--r--"
        updaters:
          - {interval: 1s, offset: 100ms, mode: pull, perm: "0660", sets: [{regex: meminfo, field: schema}]}
          - {interval: 2s, mode: push}
          - {interval: 3s, mode: onchange}
          - {interval: 4s, mode: auto}
    subscribe:
      - {stream: kokkos, regex: ".*", rx_rate: 1000}
      - {message_tag: slurm, regex: "n.*"}
  - daemons: agg2
    peers:
      - daemons: "agg1-[1-2]"
        endpoints: "a[1-2]-511"
        reconnect: 60s
        type: active
        updaters:
          - {interval: 1s}
samplers:
  - daemons: "samp-[1-4]"
    plugins: [meminfo1, multi]
  - daemons: "samp-[1-2]"
    plugins: [meminfo1]
plugins:
  meminfo1:
    name: meminfo
    interval: 1s
    offset: 0
    config:
      - {schema: meminfo, perm: "rw-r--r--", component_id: "${COMPONENT_ID}", flag: null, lst: [1, 2]}
  multi:
    name: procstat
    interval: "${SAMPLE_INTERVAL}"
    config:
      - {schema: procstat}
      - "instance=${HOSTNAME}/procstat2 perm=0640"
  csv:
    name: store_csv
    config:
      - {path: /data/csv, buffer: 0}
stores:
  csv-meminfo:
    daemons: agg2
    plugin: csv
    container: csvdir
    schema: meminfo
    flush: 5m
    perm: "rw-------"
  decomp-all:
    daemons: agg2
    plugin: csv
    container: csvdir
    decomposition: /etc/decomp.json
    regex: ".*"
"""


def files_of(text):
    """Every file's text, as the render would write it (check mode into an empty directory keeps them all)."""
    with tempfile.TemporaryDirectory() as dest:
        return render_to_dir(build_cluster(load_text(text)), "features.yaml", dest, check_mode=True, keep=None).files


def lines_of(text, name):
    return files_of(text)["%s.conf" % name].splitlines()


def verbs(lines):
    return [line.split()[0] for line in lines if not line.startswith("#")]


def test_header_and_prelude_order():
    lines = lines_of(FEATURES, "samp-1")
    assert lines[0] == header(os.path.abspath("features.yaml")).rstrip("\n")
    assert lines[1:6] == ["env COMPID=1", "env FOO=bar", "option --set_memory 512M",
                          "metric_sets_default_authz uid=0 gid=0 perm=0640", "msg_enable"]
    assert lines[6].startswith("auth_add name=ovis plugin=ovis conf=/etc/secret.conf")
    assert lines[7] == "listen xprt=sock port=411 auth=ovis host=n1"


def test_sampler_plugins_loaded_once_with_defaults():
    lines = lines_of(FEATURES, "samp-1")
    assert verbs(lines).count("load") == 2  # meminfo1 is in two groups: one load
    config = [line for line in lines if line.startswith("config name=meminfo1")]
    assert len(config) == 1
    assert "perm=0644" in config[0] and "producer=samp-1" in config[0] and "instance=samp-1/meminfo1" in config[0]
    assert "component_id=${COMPONENT_ID}" in config[0] and " flag" in config[0] and "lst=1 lst=2" in config[0]
    assert any(line.startswith("start name=meminfo1 interval=1000000") for line in lines)
    assert any(line.startswith("start name=multi interval=${SAMPLE_INTERVAL}") for line in lines)
    assert "config name=multi instance=${HOSTNAME}/procstat2 perm=0640" in lines


def test_producers_are_balanced_and_keep_rail_quota_rx_rate():
    first = lines_of(FEATURES, "agg1-1")
    second = lines_of(FEATURES, "agg1-2")
    adds_1 = [line for line in first if line.startswith("prdcr_add")]
    adds_2 = [line for line in second if line.startswith("prdcr_add")]
    assert [line.split()[1] for line in adds_1] == ["name=n1-411", "name=n2-411"]
    assert [line.split()[1] for line in adds_2] == ["name=n3-411", "name=n4-411"]
    for attr in ("rail=2", "quota=1000000", "rx_rate=2000", "perm=0644", "reconnect=20000000", "auth=ovis"):
        assert attr in adds_1[0]
    assert "listen xprt=sock port=511 auth=munge host=0.0.0.0" in first


def test_updater_modes_are_not_all_auto_interval():
    lines = lines_of(FEATURES, "agg1-1")
    adds = [line for line in lines if line.startswith("updtr_add")]
    assert len(adds) == 4
    assert "auto_interval" not in adds[0] and "push" not in adds[0]
    assert "push=onchange" in adds[2] and "auto_interval" in adds[3]
    assert "updtr_match_add name=updtr_0 regex=meminfo match=schema" in lines
    assert verbs(lines).count("updtr_start") == 4


def test_subscriptions_and_level_two_stores():
    assert any(line.startswith("prdcr_subscribe") and "stream=kokkos" in line for line in lines_of(FEATURES, "agg1-1"))
    lines = lines_of(FEATURES, "agg2")
    assert "listen xprt=rdma port=611 host=top" in lines
    assert verbs(lines).count("load") == 1  # one store plugin, two policies
    strgp = [line for line in lines if line.startswith("strgp_add")]
    assert len(strgp) == 2 and "flush=300000000" in strgp[0] and "perm=0600" in strgp[0] and "  " not in strgp[0]
    assert verbs(lines).index("load") < verbs(lines).index("strgp_add")


def test_example_renders_and_is_deterministic(tmp_path):
    cluster = build_cluster(load_file(EXAMPLE))
    first = render_to_dir(cluster, EXAMPLE, str(tmp_path), keep=None)
    assert first.changed and len(first.written) == 17  # 15 daemons + topology.md + topology.svg
    snapshot = {name: (tmp_path / name).read_bytes() for name in first.files}
    second = render_to_dir(build_cluster(load_file(EXAMPLE)), EXAMPLE, str(tmp_path))
    assert not second.changed and second.written == []
    assert snapshot == {name: (tmp_path / name).read_bytes() for name in first.files}
    loads = [sum(line.startswith("prdcr_add ") for line in (tmp_path / ("l1-agg-%d.conf" % i)).read_text().splitlines())
             for i in range(1, 5)]
    assert sorted(loads) == [2, 2, 3, 3]
    topology = (tmp_path / "topology.md").read_text()
    assert "```mermaid" in topology and "| l1-agg-1 | 1 |" in topology
    assert "![topology](topology.svg)" in topology
    picture = ET.parse(str(tmp_path / "topology.svg")).getroot()
    assert picture.tag == "{http://www.w3.org/2000/svg}svg" and len(picture.findall("{http://www.w3.org/2000/svg}g")) == 6


def test_prune_removes_only_our_stale_files(tmp_path):
    (tmp_path / "gone.conf").write_text(header(os.path.abspath(EXAMPLE)))
    (tmp_path / "mine.conf").write_text("load name=meminfo\n")
    result = render_to_dir(build_cluster(load_file(EXAMPLE)), EXAMPLE, str(tmp_path))
    assert result.removed == ["gone.conf"]
    assert (tmp_path / "mine.conf").exists()


def test_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "out"
    result = render_to_dir(build_cluster(load_file(EXAMPLE)), EXAMPLE, str(dest), check_mode=True)
    assert result.changed and not dest.exists()


def test_check_mode_keeps_the_texts_asked_for_a_diff(tmp_path):
    written = render_to_dir(build_cluster(load_file(EXAMPLE)), EXAMPLE, str(tmp_path / "real"), keep=None)
    dest = tmp_path / "out"
    result = render_to_dir(build_cluster(load_file(EXAMPLE)), EXAMPLE, str(dest), check_mode=True, keep=3)
    assert list(result.files) == result.written[:3] == written.written[:3]
    assert all(text == (tmp_path / "real" / name).read_text() for name, text in result.files.items())
    assert not dest.exists()


def test_store_plugin_string_config_is_an_error(tmp_path):
    data = load_text(FEATURES)
    data["plugins"]["csv"]["config"] = ["path=/x"]
    with pytest.raises(ClusterError, match=r"plugins.csv.config\[0\]"):
        render_to_dir(build_cluster(data), "x", str(tmp_path), check_mode=True)


ADVERTISE = """
daemons:
  - names: "sampler-[1-4]"
    hosts: "node-[1-4]"
    endpoints:
      - {names: "node-[1-4]-10002", ports: 10002, auth: {name: ovis1, plugin: ovis, conf: /etc/secret.conf}}
  - names: "l1-agg-[1-2]"
    hosts: "agg-[1-2]"
    endpoints:
      - {names: "agg-[1-2]-10401", ports: 10401, auth: {name: munge1, plugin: munge}}
aggregators:
  - daemons: "l1-agg-[1-2]"
    prdcr_listen:
      - name: l1-listen
        reconnect: 20s
        updaters:
          - {interval: 1s, offset: 500ms, sets: [{regex: ".*", field: inst}]}
      - {name: fixed, regex: "^login"}
samplers:
  - daemons: "sampler-[1-4]"
    plugins: [meminfo1]
    advertise:
      names: "sampler-[1-4]"
      hosts: "agg-[1-2]"
      xprt: sock
      port: 10401
      reconnect: 20s
      auth: {name: munge1, plugin: munge}
plugins:
  meminfo1: {name: meminfo, interval: 1s, config: [{schema: meminfo}]}
"""


def test_advertisers_and_balanced_producer_listeners():
    sampler = lines_of(ADVERTISE, "sampler-1")
    assert ("advertiser_add name=sampler-1-agg-1 host=agg-1 xprt=sock port=10401 reconnect=20000000 auth=munge1"
            " type=advertiser") in sampler
    assert "advertiser_start name=sampler-1-agg-2" in sampler
    assert "auth_add name=munge1 plugin=munge" in sampler
    first, second = lines_of(ADVERTISE, "l1-agg-1"), lines_of(ADVERTISE, "l1-agg-2")
    assert "prdcr_listen_add name=l1-listen regex=^(node-1|node-2)$ reconnect=20000000" in first
    assert "prdcr_listen_add name=l1-listen regex=^(node-3|node-4)$ reconnect=20000000" in second
    assert "prdcr_listen_add name=fixed regex=^login" in first and "prdcr_listen_start name=fixed" in second
    assert "updtr_add name=updtr_0 interval=1000000 offset=500000" in first


def test_saved_assignment_is_used_as_is_when_it_fits_the_group():
    from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
    from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import group_assignments

    cluster = build_cluster({
        "daemons": [{"names": "s-[1-4]", "hosts": "n-[1-4]", "endpoints": [{"names": "s-[1-4]-ep", "ports": 411}]},
                    {"names": "a-[1-2]", "hosts": "m-[1-2]", "endpoints": [{"names": "a-[1-2]-ep", "ports": 411}]}],
        "aggregators": [{"daemons": "a-[1-2]", "peers": [{"daemons": "s-[1-4]", "endpoints": "s-[1-4]-ep",
                                                          "reconnect": "1s", "type": "active",
                                                          "updaters": [{"interval": "1s"}]}]}]})
    group = cluster.aggregators[0]
    fresh = group_assignments(cluster)[group.key].assignment
    producers = sorted(fresh)
    # After a failover the reconcile put everything on a-1: the plans follow it.
    saved = {group.key: {name: "a-1" for name in producers}}
    assert group_assignments(cluster, saved=saved)[group.key].assignment == saved[group.key]
    # A saved assignment that no longer fits the cluster file is not used.
    stale = {group.key: {name: "a-9" for name in producers}}
    assert group_assignments(cluster, saved=stale)[group.key].assignment == fresh
    partial = {group.key: {producers[0]: "a-2"}}
    assert group_assignments(cluster, saved=partial)[group.key].assignment == fresh


def test_shared_plugin_items_render_as_unshared_ones():
    """Items shared by many daemons (no daemon-specific default) give the same text as items made per daemon."""
    from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import config_lines, prelude_commands
    from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import Planner, group_assignments

    text = FEATURES.replace("plugins:\n  meminfo1:", """plugins:
  shared:
    name: vmstat
    interval: 1s
    config: [{producer: "${HOSTNAME}", instance: "${HOSTNAME}/vmstat", component_id: "${COMPONENT_ID}"}]
  meminfo1:""").replace("plugins: [", "plugins: [shared, ", 1)
    cluster = build_cluster(load_text(text))
    planner = Planner(cluster, group_assignments(cluster))
    plans = {name: planner.plan(name) for name in cluster.daemons}
    assert planner.shared_items[("samplers", "shared")] is not None
    samplers = [plan for plan in plans.values() if plan.samplers]
    assert len(samplers) > 1 and all(plan.samplers[0] is samplers[0].samplers[0] for plan in samplers)
    for name, plan in plans.items():
        shared = config_lines(prelude_commands(plan), plan.objects(), planner.shared_lines)
        alone = config_lines([command.text() for command in prelude_commands(plan)], plan.objects())
        assert shared == alone, name
