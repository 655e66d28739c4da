"""The etcd state backend on a real 3-member etcd cluster on loopback (Debian's etcd-server)."""

import os
import sys
import time

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import EtcdState, NoQuorum, StateBusy

sys.path.insert(0, os.path.dirname(__file__))
from etcd_cluster import EtcdCluster, wait_for_quorum  # noqa: E402


@pytest.fixture()
def etcd(tmp_path):
    cluster = EtcdCluster(tmp_path)
    for name in cluster.members:
        cluster.start(name)
    wait_for_quorum(cluster)
    yield cluster
    cluster.stop()


def test_lock_is_exclusive_and_state_survives_a_member_loss(etcd):
    first = EtcdState(etcd.endpoints(), "/hpc-ldms/test", timeout=2.0)
    second = EtcdState(etcd.endpoints(), "/hpc-ldms/test", timeout=2.0)
    with first.locked():
        state = first.load()
        assert state["assignments"] == {}
        state["assignments"] = {"l1-[1-3]": {"samp-1-ep": "l1-1"}}
        first.save(state)
        with pytest.raises(StateBusy, match="holds the etcd lock"):
            with second.locked():
                pass
    # One member dies: two of three still make a quorum; the lock and the state survive.
    etcd.kill("m1")
    with second.locked():
        assert second.load()["assignments"] == {"l1-[1-3]": {"samp-1-ep": "l1-1"}}
        with pytest.raises(StateBusy):
            with first.locked():
                pass


def test_without_quorum_nothing_changes_and_it_says_why(etcd):
    store = EtcdState(etcd.endpoints(), "/hpc-ldms/test", timeout=1.0)
    with store.locked():
        store.save(dict(store.load(), failures={"l1-1": 1}))
    etcd.kill("m1")
    etcd.kill("m2")
    with pytest.raises(NoQuorum, match="etcd has no quorum or cannot be reached, so nothing was changed"):
        with store.locked():
            pytest.fail("the lock must not be taken without quorum")
    etcd.start("m1")  # quorum back: the state is as it was
    deadline = time.time() + 30
    while True:
        try:
            with store.locked():
                assert store.load()["failures"] == {"l1-1": 1}
            break
        except NoQuorum:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def test_an_unusable_state_in_etcd_is_kept_aside_and_replaced(etcd):
    store = EtcdState(etcd.endpoints(), "/hpc-ldms/test", timeout=2.0)
    with store.locked():
        store.client.put(store.key, "[]")
        assert store.load(check=True)["assignments"] == {} and store.discarded["kept_as"] is None
        state = store.load()
        assert state["assignments"] == {} and "list, not a mapping" in store.discarded["problem"]
        kept = store.discarded["kept_as"].split("etcd key ", 1)[1]
        assert kept.startswith("/hpc-ldms/test/state.corrupt-")
        assert store.client.get(kept) == [b"[]"]
        store.save(dict(state, failures={"l1-1": 1}))
    with store.locked():
        assert store.load()["failures"] == {"l1-1": 1} and store.discarded is None
