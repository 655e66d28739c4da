import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.cluster.errors import ClusterError
from ansible_collections.hpc.ldms.plugins.module_utils.cluster.hostlists import broadcast, compress, expand, per_owner


def test_expand_keeps_written_order():
    assert expand("node-[8-12]", "x") == ["node-8", "node-9", "node-10", "node-11", "node-12"]
    assert expand("n[9-11],d[01-02]", "x") == ["n9", "n10", "n11", "d01", "d02"]


def test_expand_padding_products_lists_and_ints():
    assert expand("a[01-3]", "x") == ["a01", "a02", "a03"]
    assert expand("node-[1-2]-[3-4]", "x") == ["node-1-3", "node-1-4", "node-2-3", "node-2-4"]
    assert expand(["a[1-2]", "b"], "x") == ["a1", "a2", "b"]
    assert expand(10002, "x") == ["10002"]
    assert expand("a[1-2],a1", "x") == ["a1", "a2"]


@pytest.mark.parametrize("bad", ["a[1-2", "a[2-1]", "a[x-y]", "a[[1]]", "", None, True, {"a": 1}])
def test_bad_hostlists_name_the_path(bad):
    with pytest.raises(ClusterError) as info:
        expand(bad, "daemons[0].names")
    assert str(info.value).startswith("daemons[0].names: ")


def test_compress():
    assert compress(["node-1", "node-2", "node-10"]) == "node-[1-2,10]"


def test_broadcast_and_mismatch():
    assert broadcast(["h"], 3, "p", "hosts", "names") == ["h", "h", "h"]
    assert broadcast(["a", "b"], 2, "p", "hosts", "names") == ["a", "b"]
    with pytest.raises(ClusterError, match=r"^daemons\[1\].endpoints\[0\].ports: 3 ports for 10 endpoint names$"):
        broadcast(["1", "2", "3"], 10, "daemons[1].endpoints[0].ports", "ports", "endpoint names")


def test_per_owner_blocks():
    assert per_owner(["a", "b", "c", "d"], 2, "p", "endpoint names", "daemons") == [["a", "b"], ["c", "d"]]
    with pytest.raises(ClusterError, match="3 endpoint names for 2 daemons"):
        per_owner(["a", "b", "c"], 2, "p", "endpoint names", "daemons")
