"""The kinds registry is what every layer reads: the role's order, the modules' argspecs and docs."""

import json
import os
import re

import pytest
import yaml

from ansible_collections.hpc.ldms.plugins.doc_fragments.kinds import ModuleDocFragment
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_text
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.values import parse_int
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.base import Attr
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.producers import Producers
from ansible_collections.hpc.ldms.plugins.module_utils.kinds.registry import KINDS, ORDER, SAMPLER_KINDS
from ansible_collections.hpc.ldms.plugins.module_utils.render.config_file import daemon_config_text
from ansible_collections.hpc.ldms.plugins.module_utils.render.daemon_plan import DaemonPlan, plan_cluster

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
# The module that manages each kind (aggregator plugins are plugin instances too).
MODULE_OF = {kind: "ldmsd_%s" % kind for kind in KINDS}
MODULE_OF["aggregator_plugins"] = "ldmsd_samplers"


def test_the_role_applies_kinds_in_the_registry_order():
    with open(os.path.join(ROOT, "roles", "ldmsd", "tasks", "configure.yml")) as stream:
        block = yaml.safe_load(stream)[0]["block"]
    kinds = [re.search(r"ldms_plan\.objects\.(\w+)", json.dumps(task)).group(1) for task in block]
    assert tuple(kinds) == ORDER
    assert [next(key for key in task if key.startswith("hpc.ldms.")) for task in block] == \
        ["hpc.ldms.%s" % MODULE_OF[kind] for kind in ORDER]


def test_a_daemon_plan_holds_every_kind_in_order():
    assert tuple(DaemonPlan(name="d", host="h", level=0).objects()) == ORDER
    assert ORDER[:len(SAMPLER_KINDS)] == SAMPLER_KINDS


def test_the_config_suboptions_are_documented_from_the_attributes():
    for kind, spec in KINDS.items():
        documented = yaml.safe_load(getattr(ModuleDocFragment, kind.upper()))["options"]["config"]["suboptions"]
        assert list(documented) == [attr.name for attr in spec.attrs], kind
        for name, option in documented.items():
            attr = spec.by_name[name]
            assert (option["type"], option.get("elements"), option["description"][0]) == (attr.type, attr.elements, attr.doc)
            assert ("Required." in option["description"]) == attr.required


def test_every_resource_module_documents_its_items_from_the_registry():
    for kind in KINDS:
        if kind == "aggregator_plugins":
            continue  # managed by ldmsd_samplers
        with open(os.path.join(ROOT, "plugins", "modules", MODULE_OF[kind] + ".py")) as stream:
            source = stream.read()
        assert "hpc.ldms.kinds.%s\n" % kind in source and 'run("%s")' % kind in source
        assert "Item keys" not in source


def test_an_attribute_added_to_a_kind_reaches_every_layer(monkeypatch):
    """What a new LDMS version's producer attribute needs is its Attr in the kind: file, plan, config, module."""
    class Newer(Producers):
        attrs = Producers.attrs + (Attr("tx_rate", parse_int, "Send rate limit.", type="raw", reported=False),)

    monkeypatch.setitem(KINDS, "producers", Newer())
    data = load_text(CLUSTER)
    data["aggregators"][0]["peers"][0]["tx_rate"] = "4096"
    plan = plan_cluster(build_cluster(data))["agg-1"]
    assert plan.producers[0]["tx_rate"] == 4096
    assert "prdcr_add name=sampler-1-411 host=nid00001 port=411 xprt=sock type=active reconnect=20000000 " \
           "tx_rate=4096\n" in daemon_config_text(plan, "cluster.yaml")
    # The resource module: its items and their docs.
    item = {"name": "n1", "host": "h", "port": 1, "reconnect": "1s", "tx_rate": "7"}
    assert KINDS["producers"].add_commands(KINDS["producers"].normalize(item, "config[0]"))[0].text() == \
        "prdcr_add name=n1 host=h port=1 xprt=sock type=active reconnect=1000000 tx_rate=7"
    assert KINDS["producers"].doc_options()["tx_rate"]["type"] == "raw"
    data["aggregators"][0]["peers"][0]["tx_rat"] = 1
    with pytest.raises(ClusterError, match=r"peers\[0\]\.tx_rat: unknown key 'tx_rat' \(did you mean 'tx_rate'\?\)"):
        build_cluster(data)


CLUSTER = """
daemons:
  - names: "sampler-[1-2]"
    hosts: "nid[00001-00002]"
    endpoints:
      - names: "sampler-[1-2]-411"
        ports: 411
  - names: "agg-1"
    hosts: "a1"
    endpoints:
      - names: "agg-1-511"
        ports: 511
aggregators:
  - daemons: "agg-1"
    peers:
      - daemons: "sampler-[1-2]"
        endpoints: "sampler-[1-2]-411"
        reconnect: 20s
        type: active
"""
