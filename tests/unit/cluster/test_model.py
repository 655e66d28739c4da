import os

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file, load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "cluster.yaml")

BASE = """
daemons:
  - names: "sampler-[1-10]"
    hosts: "nid[00001-00010]"
    endpoints:
      - names: "sampler-[1-10]-411"
        ports: 411
  - names: "agg-[1-2]"
    hosts: "a[1-2]"
    endpoints:
      - names: "agg-[1-2]-511"
        ports: 511
aggregators:
  - daemons: "agg-[1-2]"
    peers:
      - daemons: "sampler-[1-10]"
        endpoints: "sampler-[1-10]-411"
        reconnect: 20s
        type: active
        rail: 2
        quota: 1000
        rx_rate: 2000
        updaters:
          - interval: 1s
            mode: pull
samplers:
  - daemons: "sampler-[1-10]"
    plugins: [meminfo1]
plugins:
  meminfo1:
    name: meminfo
    interval: 1s
    config:
      - schema: meminfo
  csv:
    name: store_csv
    config:
      - path: /data
stores:
  csv-meminfo:
    daemons: "agg-[1-2]"
    plugin: csv
    container: c
    schema: meminfo
"""


def cluster_of(text):
    return build_cluster(load_text(text))


def base():
    return load_text(BASE)


def error_of(data):
    with pytest.raises(ClusterError) as info:
        build_cluster(data)
    return str(info.value)


def test_pairs_in_written_order_not_string_order():
    cluster = cluster_of(BASE)
    assert cluster.daemons["sampler-10"].host == "nid00010"
    assert cluster.daemons["sampler-2"].host == "nid00002"
    assert [e.name for e in cluster.daemons["sampler-10"].endpoints] == ["sampler-10-411"]
    assert list(cluster.daemons)[:3] == ["sampler-1", "sampler-2", "sampler-3"]


def test_producers_levels_and_peer_options():
    cluster = cluster_of(BASE)
    group = cluster.aggregators[0]
    assert group.level == 1
    assert len(group.producers) == 10
    producer = group.producers[9]
    assert (producer.name, producer.host, producer.port, producer.attrs["rail"], producer.attrs["quota"],
            producer.attrs["rx_rate"]) == \
        ("sampler-10-411", "nid00010", 411, 2, 1000, 2000)
    assert producer.attrs["reconnect"] == 20000000
    assert group.updaters[0].name == "updtr_0" and group.updaters[0].mode == "pull"


def test_example_cluster_is_valid():
    cluster = build_cluster(load_file(EXAMPLE))
    assert cluster.warnings == []
    assert len(cluster.sampler_daemons()) == 10
    assert [(g.key, g.level, len(g.daemons)) for g in cluster.aggregators] == [("l1-agg-[1-4]", 1, 4), ("l2-agg", 2, 1)]
    assert {s.plugin.plugin for s in cluster.stores} == {"store_sos", "store_csv"}


def test_host_broadcast_and_n_times_k_endpoints():
    data = base()
    data["daemons"][0]["hosts"] = "bighost"
    # Daemons sharing a host need ports of their own: one port per endpoint name.
    data["daemons"][0]["endpoints"] = [{"names": "sampler-[1-10]-[411-412]", "ports": "[10001-10020]"}]
    data["aggregators"][0]["peers"][0]["endpoints"] = "sampler-[1-10]-411"
    cluster = build_cluster(data)
    daemon = cluster.daemons["sampler-3"]
    assert daemon.host == "bighost"
    assert [(e.name, e.port) for e in daemon.endpoints] == [("sampler-3-411", 10005), ("sampler-3-412", 10006)]
    # k ports for N daemons' k endpoints each: every daemon gets the same k, which on one host collide.
    data["daemons"][0]["endpoints"] = [{"names": "sampler-[1-10]-[411-412]", "ports": "[411-412]"}]
    with pytest.raises(ClusterError, match=r"daemons\[0\].endpoints: daemons 'sampler-1' and 'sampler-2' both listen on host bighost port 411"):
        build_cluster(data)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["daemons"][0]["endpoints"][0].update(ports="[1-3]"),
     "daemons[0].endpoints[0].ports: 3 ports for 10 endpoint names"),
    (lambda d: d["daemons"][0].update(hosts="h[1-3]"), "daemons[0].hosts: 3 hosts for 10 daemon names"),
    (lambda d: d["daemons"][0]["endpoints"][0].update(names="e[1-3]"),
     "daemons[0].endpoints[0].names: 3 endpoint names for 10 daemons"),
    (lambda d: d["daemons"][1].update(names="sampler-[1-2]"), "daemons[1].names: daemon 'sampler-1' is already defined in daemons[0]"),
    (lambda d: d["daemons"][0].update(names="s[1-"), "daemons[0].names: bad hostlist 's[1-'"),
    (lambda d: d["aggregators"][0].update(daemons="agg-[1-3]"), "aggregators[0].daemons: daemon 'agg-3' is not defined in daemons"),
    (lambda d: d["samplers"][0].update(plugins=["nope"]), "samplers[0].plugins[0]: plugin 'nope' is not defined in plugins"),
    (lambda d: d["stores"]["csv-meminfo"].update(plugin="nope"), "stores.csv-meminfo.plugin: store plugin 'nope' is not defined in plugins"),
    (lambda d: d["daemons"][0].pop("hosts"), "daemons[0].hosts: required key is missing"),
    (lambda d: d["stores"]["csv-meminfo"].pop("container"), "stores.csv-meminfo.container: required key is missing"),
    (lambda d: d["plugins"]["meminfo1"].update(interval="10min"), "plugins.meminfo1.interval: bad time value '10min'"),
    (lambda d: d["aggregators"][0]["peers"][0].update(perm="rwz"), "aggregators[0].peers[0].perm: bad permission 'rwz'"),
    (lambda d: d.update(daemons={"names": "x"}), "daemons: expected a list, got a mapping"),
    (lambda d: d["aggregators"][0]["peers"][0].update(type="sideways"), "aggregators[0].peers[0].type: unknown producer type 'sideways'"),
    (lambda d: d["aggregators"][0]["peers"][0].update(endpoints="agg-1-511"),
     "aggregators[0].peers[0].endpoints: endpoint 'agg-1-511' is not an endpoint of daemons sampler-[1-10]"),
    (lambda d: d["aggregators"][0]["peers"][0]["updaters"][0].update(mode="sometimes"),
     "aggregators[0].peers[0].updaters[0].mode: unknown mode 'sometimes'"),
    (lambda d: d["daemons"][0]["endpoints"][0].update(ports=70000), "daemons[0].endpoints[0].ports: port 70000 is out of range"),
])
def test_bad_input_gives_one_error_naming_the_path(mutate, expected):
    data = base()
    mutate(data)
    assert error_of(data).startswith(expected)


def test_bad_yaml_names_the_line():
    with pytest.raises(ClusterError, match=r"^c.yaml: bad YAML at line 3 column"):
        load_text("daemons:\n  - names: a\n   hosts: b\n  - x: [\n", "c.yaml")


def test_not_a_mapping():
    assert error_of(["a"]).startswith("<top>: a cluster file is a mapping")


def test_unknown_keys_warn_when_not_strict():
    data = base()
    data["samplers"][0]["colour"] = "blue"
    data["daemons"][0]["endpoints"][0]["speed"] = 1
    warnings = build_cluster(data, strict=False).warnings
    assert "samplers[0].colour: unknown key 'colour' ignored" in warnings
    assert "daemons[0].endpoints[0].speed: unknown key 'speed' ignored" in warnings


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["plugins"]["meminfo1"].update(intervall="10s"),
     "plugins.meminfo1.intervall: unknown key 'intervall' (did you mean 'interval'?)"),
    (lambda d: d["daemons"][0]["endpoints"][0].update(speed=1), "daemons[0].endpoints[0].speed: unknown key 'speed'"),
    (lambda d: d.update(sampler=d.pop("samplers")), "sampler: unknown top-level key 'sampler' (did you mean 'samplers'?)"),
    (lambda d: d.update(aggregator=[]), "aggregator: unknown top-level key 'aggregator' (did you mean 'aggregators'?)"),
    (lambda d: d.update(damons=[]), "damons: unknown top-level key 'damons' (did you mean 'daemons'?)"),
    (lambda d: d.update(store={}), "store: unknown top-level key 'store' (did you mean 'stores'?)"),
    (lambda d: d["aggregators"][0]["peers"][0]["updaters"][0].update(intervl="1s"),
     "aggregators[0].peers[0].updaters[0].intervl: unknown key 'intervl' (did you mean 'interval'?)"),
])
def test_typos_are_errors_with_a_suggestion(mutate, expected):
    data = base()
    mutate(data)
    with pytest.raises(ClusterError) as info:
        build_cluster(data)
    assert str(info.value) == expected


def test_scratch_pad_top_level_keys_stay_allowed():
    data = base()
    data["defaults"] = {"anything": 1}
    data["comment_hosts"] = "----"
    data["aggregators_old"] = []
    cluster = build_cluster(data)
    assert cluster.warnings == []


def test_anchors_and_merge_keys():
    text = BASE + """
defaults: &common
  interval: 2s
  config:
    - schema: vmstat
extra: &more
  name: vmstat
"""
    data = load_text(text)
    data["plugins"]["vmstat1"] = load_text("a: &c {interval: 2s}\nb:\n  <<: *c\n  name: vmstat\n")["b"]
    cluster = build_cluster(data)
    assert cluster.plugins["vmstat1"].interval == 2000000
    assert cluster.warnings == []  # top-level scratch pads for anchors are allowed


def test_env_references_are_kept():
    data = base()
    data["plugins"]["meminfo1"]["interval"] = "${SAMPLE_INTERVAL}"
    data["plugins"]["meminfo1"]["config"][0]["component_id"] = "${COMPONENT_ID}"
    cluster = build_cluster(data)
    assert cluster.plugins["meminfo1"].interval == "${SAMPLE_INTERVAL}"
    assert cluster.plugins["meminfo1"].config[0]["component_id"] == "${COMPONENT_ID}"


LEGACY = """
daemons:
  - names: "samp-[1-2]"
    hosts: "n[1-2]"
    endpoints:
      - names: "samp-[1-2]-10001"
        ports: 10001
  - names: agg
    hosts: a
    endpoints:
      - names: agg-10002
        ports: 10002
aggregators:
  - daemons: agg
    peers:
      - daemons: "samp-[1-2]"
        endpoints: "samp-[1-2]-10001"
        reconnect: 20s
        type: active
        credits: 5000
        updaters:
          - interval: 1s
samplers:
  - daemons: "samp-[1-2]"
    plugins:
      - name: meminfo
        interval: 1s
        offset: 0s
        config:
          schema: meminfo
          perm: "rw-r--r--"
stores:
  - name: csv-meminfo
    daemons: agg
    container: csv
    schema: meminfo
    flush: 10s
    plugin:
      name: store_csv
      config:
        - path: /data
"""


def test_legacy_form_is_translated():
    cluster = cluster_of(LEGACY)
    group = cluster.samplers[0]
    assert group.plugins[0].plugin == "meminfo" and group.plugins[0].config == [{"schema": "meminfo", "perm": "0644"}]
    assert cluster.stores[0].plugin.plugin == "store_csv" and cluster.stores[0].flush == 10000000
    assert cluster.aggregators[0].producers[0].attrs["quota"] == 5000
    assert any("credits: renamed to quota" in w for w in cluster.warnings)


def test_every_prdcr_listen_entry_is_kept():
    data = base()
    data["aggregators"][0]["prdcr_listen"] = [{"name": "l1", "regex": "a.*"}, {"name": "l2", "regex": "b.*", "reconnect": "2s"}]
    group = build_cluster(data).aggregators[0]
    assert [(l.name, l.attrs.get("regex"), l.attrs.get("reconnect")) for l in group.prdcr_listen] == [("l1", "a.*", None), ("l2", "b.*", 2000000)]


def test_aggregator_loop_is_an_error():
    data = base()
    data["aggregators"].append({"daemons": "sampler-[1-10]", "peers": [
        {"daemons": "agg-[1-2]", "endpoints": "agg-[1-2]-511", "reconnect": "1s", "type": "active"}]})
    data["aggregators"][0]["peers"][0]["endpoints"] = "sampler-[1-10]-411"
    assert "pull from each other in a loop" in error_of(data)
