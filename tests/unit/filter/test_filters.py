import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.ldms.plugins.filter.balance import FilterModule as BalanceFilters
from ansible_collections.hpc.ldms.plugins.filter.hostlist_compress import FilterModule as CompressFilters
from ansible_collections.hpc.ldms.plugins.filter.hostlist_expand import FilterModule as ExpandFilters
from ansible_collections.hpc.ldms.plugins.filter.ldmsd_config import FilterModule as ConfigFilters

expand = ExpandFilters().filters()["hostlist_expand"]
compress = CompressFilters().filters()["hostlist_compress"]
balance = BalanceFilters().filters()["balance"]
ldmsd_config = ConfigFilters().filters()["ldmsd_config"]


def test_hostlist_filters():
    assert expand("node-[9-11]") == ["node-9", "node-10", "node-11"]
    assert compress(["node-9", "node-10", "node-11"]) == "node-[9-11]"
    with pytest.raises(AnsibleFilterError, match="bad hostlist"):
        expand("node-[1-")
    with pytest.raises(AnsibleFilterError, match="expected a list of names"):
        compress("node-1")


def test_balance_filter():
    result = balance(["p1", "p2", "p3"], ["a", "b"])
    assert result["assignment"] == {"p1": "a", "p2": "a", "p3": "b"}
    assert result["failsafe"] is False
    with pytest.raises(AnsibleFilterError, match="aggregators"):
        balance(["p1"], 3)
    with pytest.raises(AnsibleFilterError, match="no weight"):
        balance(["p1"], ["a"], weights={})


def test_ldmsd_config_filter(tmp_path):
    import os
    example = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "cluster.yaml")
    lines = ldmsd_config(example, daemon="l1-agg-4")
    assert lines[:2] == ["env COMPID=14", "auth_add name=munge1 plugin=munge"]
    assert sum(line.startswith("prdcr_add ") for line in lines) == 2
    with pytest.raises(AnsibleFilterError, match="daemon 'nope' is not in"):
        ldmsd_config(example, daemon="nope")
    with pytest.raises(AnsibleFilterError, match="not an ldms_plan"):
        ldmsd_config({"a": 1})


def test_ldmsd_config_filter_with_source_is_the_rendered_file(tmp_path):
    """The ldmsd role writes these lines: the same file, header included, as render_config."""
    import os

    from ansible_collections.hpc.ldms.plugins.module_utils.cluster.loader import load_file
    from ansible_collections.hpc.ldms.plugins.module_utils.cluster.model import build_cluster
    from ansible_collections.hpc.ldms.plugins.module_utils.render.writer import render_to_dir

    example = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "cluster.yaml")
    render_to_dir(build_cluster(load_file(example)), example, str(tmp_path))
    for daemon in ("sampler-1", "l1-agg-4", "l2-agg"):
        text = "\n".join(ldmsd_config(example, daemon=daemon, source=example)) + "\n"
        assert text == (tmp_path / ("%s.conf" % daemon)).read_text()


def test_runtime_env_filter_is_the_process_modes_environment():
    from ansible_collections.hpc.ldms.plugins.filter.ldms_runtime_env import FilterModule as EnvFilters
    from ansible_collections.hpc.ldms.plugins.module_utils.deploy.process import ldms_runtime_env

    runtime_env = EnvFilters().filters()["ldms_runtime_env"]
    assert runtime_env("/opt/ovis") == ldms_runtime_env("/opt/ovis") == {
        "LD_LIBRARY_PATH": "/opt/ovis/lib", "LDMSD_PLUGIN_LIBPATH": "/opt/ovis/lib/ovis-ldms",
        "ZAP_LIBPATH": "/opt/ovis/lib/ovis-ldms"}


def test_ldmsd_plan_filter_matches_the_config_and_follows_edits(tmp_path):
    import os
    import shutil

    from ansible_collections.hpc.ldms.plugins.filter.ldmsd_plan import FilterModule as PlanFilters

    ldmsd_plan = PlanFilters().filters()["ldmsd_plan"]
    example = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "cluster.yaml")
    copy = tmp_path / "cluster.yaml"
    shutil.copy(example, copy)
    plan = ldmsd_plan(str(copy), "l2-agg")
    assert plan["groups"] == ["l2-agg"]
    assert plan["objects"]["storage_policies"][0]["name"] == "sos-meminfo"
    assert ldmsd_config(plan) == ldmsd_config(str(copy), daemon="l2-agg")
    assert ldmsd_plan(str(copy), "l2-agg") is plan  # cached per file version
    copy.write_text(copy.read_text().replace("sos-meminfo", "sos-meminfo-2"))
    os.utime(copy, ns=(os.stat(copy).st_atime_ns, os.stat(copy).st_mtime_ns + 10**9))
    assert ldmsd_plan(str(copy), "l2-agg")["objects"]["storage_policies"][0]["name"] == "sos-meminfo-2"
    with pytest.raises(AnsibleFilterError, match="daemon 'nope' is not in"):
        ldmsd_plan(str(copy), "nope")
    with pytest.raises(AnsibleFilterError, match="cannot read the cluster file"):
        ldmsd_plan(str(tmp_path / "missing.yaml"), "l2-agg")
