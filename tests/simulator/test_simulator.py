"""The simulator answers like ldmsd 4.5.3: the same checks pass on real LDMS and on the simulator."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import LDMSD, PREFIX, free_ports, ldms_env, wait_listening  # noqa: E402

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient, LdmsdError  # noqa: E402

CAPTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "ldmsd-4.5.3")


def captured_reply(name):
    """The JSON reply in a capture file, or None when the captures are not beside the checkout."""
    path = os.path.join(CAPTURES, name)
    if not os.path.exists(path):
        return None
    text = open(path).read()
    body = text.split("msg (JSON, pretty-printed):", 1)[1].split("### rawcmd.py", 1)[0]
    return json.loads(body)


def shape(value):
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key not in ("sets", "producers", "metrics")}
    return type(value).__name__


@pytest.fixture()
def pair(tmp_path):
    samp, agg = free_ports(2)
    (tmp_path / "samp.conf").write_text("load name=meminfo plugin=meminfo\nconfig name=meminfo producer=samp1 "
                                        "instance=samp1/meminfo\nstart name=meminfo interval=1000000\n")
    env = ldms_env()
    sampler = subprocess.Popen([LDMSD, "-F", "-x", "sock:%d" % samp, "-c", str(tmp_path / "samp.conf"),
                                "-l", str(tmp_path / "samp.log")], env=env, stdin=subprocess.DEVNULL)
    aggregator = subprocess.Popen([LDMSD, "-F", "-x", "sock:%d" % agg, "-l", str(tmp_path / "agg.log")], env=env,
                                  stdin=subprocess.DEVNULL)
    wait_listening(samp, sampler)
    wait_listening(agg, aggregator)
    client = LdmsdClient(agg, host="127.0.0.1", ldms_prefix=PREFIX)
    yield {"client": client, "samp": samp, "sampler": sampler}
    client.close()
    for daemon in (sampler, aggregator):
        daemon.kill()
        daemon.wait()


def wait_for(predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def add_producer(client, port):
    return client.request("prdcr_add", [("name", "samp1"), ("host", "127.0.0.1"), ("port", str(port)),
                                        ("xprt", "sock"), ("type", "active"), ("reconnect", "1000000")])


def test_errors_match_the_captures(pair):
    client = pair["client"]
    assert add_producer(client, pair["samp"]) == (0, None)
    assert add_producer(client, pair["samp"]) == (17, "The prdcr samp1 already exists.")
    assert client.request("prdcr_del", [("name", "nosuch")]) == (2, "The producer specified does not exist.")
    assert client.request("prdcr_start", [("name", "samp1")])[0] == 0
    assert client.request("prdcr_del", [("name", "samp1")]) == (16, "The producer is in use.")
    assert client.request("updtr_add", [("name", "upd1"), ("interval", "bogus")]) == (
        22, "The given update interval value (bogus) is invalid.")
    assert client.request("updtr_add", [("name", "upd1"), ("interval", "1000000")])[0] == 0
    assert client.request("updtr_add", [("name", "upd1"), ("interval", "1000000")]) == (17, "The updtr upd1 already exists.")
    assert client.request("updtr_start", [("name", "upd1")])[0] == 0
    assert client.request("updtr_start", [("name", "upd1")]) == (16, "The updater is already running.")
    assert client.request("updtr_del", [("name", "upd1")]) == (16, "The updater is in use.")
    with pytest.raises(LdmsdError, match="has no request 'smplr_add'") as info:
        client.request("smplr_add", [("name", "x")])
    assert info.value.errcode == 38
    errcode, message = client.request("strgp_add", [("name", "s"), ("plugin", "store_nothere"), ("container", "c"),
                                                    ("schema", "meminfo")])
    assert (errcode, message) == (2, "The plugin store_nothere does not exist. Forgot load?\n")


def test_status_shapes_match_the_captures(pair):
    client = pair["client"]
    add_producer(client, pair["samp"])
    client.request("prdcr_start", [("name", "samp1")])
    client.request("updtr_add", [("name", "upd1"), ("interval", "1000000"), ("offset", "100000")])
    client.request("updtr_prdcr_add", [("name", "upd1"), ("regex", ".*")])
    client.request("updtr_start", [("name", "upd1")])
    assert wait_for(lambda: client.status("prdcr_status")[0]["state"] == "CONNECTED")
    assert wait_for(lambda: [s["inst_name"] for s in client.status("prdcr_set_status")] == ["samp1/meminfo"])
    for verb, capture in (("prdcr_status", "prdcr_status.txt"), ("updtr_status", "updtr_status.txt"),
                          ("prdcr_set_status", "prdcr_set_status.txt"), ("version", "version.txt")):
        reply = client.status(verb)
        expected = captured_reply(capture)
        if expected is None:
            pytest.skip("the ldmsd 4.5.3 captures are not beside this checkout")
        if isinstance(expected, list):
            assert shape(reply[0]) == shape(expected[0]), verb
        else:
            assert set(reply) == set(expected)
    status = client.status("prdcr_status")[0]
    assert [(s["inst_name"], s["schema_name"]) for s in status["sets"]] == [("samp1/meminfo", "meminfo")]
    assert status["sets"][0]["state"] in ("START", "LOOKUP", "READY", "UPDATING")


def test_killed_sampler_disconnects_and_its_sets_go(pair):
    client = pair["client"]
    add_producer(client, pair["samp"])
    client.request("prdcr_start", [("name", "samp1")])
    client.request("updtr_add", [("name", "upd1"), ("interval", "1000000")])
    client.request("updtr_prdcr_add", [("name", "upd1"), ("regex", ".*")])
    client.request("updtr_start", [("name", "upd1")])
    assert wait_for(lambda: client.status("prdcr_set_status") != [])
    pair["sampler"].kill()
    pair["sampler"].wait()
    assert wait_for(lambda: re.match("DISCONNECTED|CONNECTING", client.status("prdcr_status")[0]["state"]))
    assert wait_for(lambda: client.status("prdcr_set_status") == [])
