"""Why a sampler set is not at the top, from ldmsd's producer and set states (replies shaped as 4.5.3's)."""

from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.sets import DaemonView, diagnose, is_stale

NOW = 1796292300.0
SECOND = 1000000


def set_reply(inst, producer, state, age):
    stamp = 0 if age is None else NOW - age
    return {"inst_name": inst, "schema_name": "meminfo", "state": state, "origin": inst.split("/")[0],
            "producer": producer, "timestamp.sec": str(int(stamp)), "timestamp.usec": "0",
            "duration.sec": "0", "duration.usec": "20"}


def view(producers, sets):
    return DaemonView.from_replies([{"name": name, "state": state} for name, state in producers.items()],
                                   [set_reply(*entry) for entry in sets])


PATH = [("l1-1", "samp-1-ep"), ("l2", "l1-1-ep")]
SET = "samp-1/meminfo1"


def test_fresh_means_ready_or_updating_with_a_recent_update_time():
    assert view({}, [(SET, "l1-1-ep", "READY", 1)]).fresh(SET, SECOND, NOW)
    assert view({}, [(SET, "l1-1-ep", "UPDATING", 1)]).fresh(SET, SECOND, NOW)  # mid-update
    assert not view({}, [(SET, "l1-1-ep", "READY", 30)]).fresh(SET, SECOND, NOW)
    assert not view({}, [(SET, "l1-1-ep", "START", None)]).fresh(SET, SECOND, NOW)
    assert is_stale(NOW - 9, SECOND, NOW) and not is_stale(NOW - 7, SECOND, NOW)  # 3 intervals + 5 s


def test_a_hung_level_one_shows_as_stale_at_the_top():
    views = {"l1-1": DaemonView(error="timed out"),
             "l2": view({"l1-1-ep": "CONNECTED"}, [(SET, "l1-1-ep", "UPDATING", 40)])}
    reason, detail = diagnose(SET, PATH, views, SECOND, NOW)
    assert reason == "stale"
    assert detail == "l2: UPDATING, last update 40.0 s ago, through producer l1-1-ep; l1-1: does not answer (timed out)"


def test_a_set_refused_because_a_frozen_copy_holds_its_name():
    path = [("l1-2", "samp-1-ep"), ("l2", "l1-2-ep")]
    views = {"l1-2": view({"samp-1-ep": "CONNECTED"}, [(SET, "samp-1-ep", "READY", 1)]),
             "l2": view({"l1-1-ep": "CONNECTED", "l1-2-ep": "CONNECTED"},
                        [(SET, "l1-1-ep", "UPDATING", 40), (SET, "l1-2-ep", "START", None)])}
    reason, detail = diagnose(SET, path, views, SECOND, NOW)
    assert reason == "stale"  # at the top, the frozen copy
    assert "l2: held through another producer (UPDATING, last update 40.0 s ago, through producer l1-1-ep); " \
           "producer l1-2-ep cannot add it" in detail
    views["l2"] = view({"l1-2-ep": "CONNECTED", "l1-1-ep": "CONNECTED"},
                       [(SET, "l1-2-ep", "START", None), (SET, "l1-1-ep", "START", None)])
    assert diagnose(SET, path, views, SECOND, NOW)[0] == "duplicate set"


def test_reasons_from_lower_hops():
    l2 = view({"l1-1-ep": "CONNECTED"}, [])
    disconnected = {"l1-1": view({"samp-1-ep": "DISCONNECTED"}, []), "l2": l2}
    assert diagnose(SET, PATH, disconnected, SECOND, NOW) == (
        "producer disconnected", "l1-1: producer samp-1-ep is DISCONNECTED")
    unconfigured = {"l1-1": view({}, []), "l2": l2}
    assert diagnose(SET, PATH, unconfigured, SECOND, NOW)[1] == "l1-1: producer samp-1-ep is not configured"
    not_pulled = {"l1-1": view({"samp-1-ep": "CONNECTED"}, [(SET, "samp-1-ep", "READY", 1)]), "l2": l2}
    assert diagnose(SET, PATH, not_pulled, SECOND, NOW) == (
        "set not pulled", "l2: producer l1-1-ep is CONNECTED but ldmsd has no such set from it")
    stale_below = {"l1-1": view({"samp-1-ep": "CONNECTED"}, [(SET, "samp-1-ep", "READY", 60)]), "l2": l2}
    assert diagnose(SET, PATH, stale_below, SECOND, NOW)[0] == "stale"
    never = {"l1-1": view({"samp-1-ep": "CONNECTED"}, [(SET, "samp-1-ep", "START", None)]), "l2": l2}
    assert diagnose(SET, PATH, never, SECOND, NOW)[0] == "set not ready"
    assert diagnose(SET, [], {}, SECOND, NOW)[0] == "not assigned"
