"""The reconcile state file: an unusable state is set aside and the run starts from the cluster file."""

import json
import os

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.reconcile.state import (
    EMPTY_STATE,
    LOCK_FILE,
    FileState,
    StateBusy,
    StateError,
    state_problems,
    write_json_atomically,
)

GOOD = {"version": 1, "failures": {"l1-1": 2}, "assignments": {"l1-[1-3]": {"samp-1-ep": "l1-1"}},
        "sampler_configs": {"samp-1": {"meminfo1": "0123456789abcdef"}}, "sampler_digests": {"samp-1": "89abcdef"}}

CORRUPT = [
    ("[]", "the state is list, not a mapping"),
    ("null", "the state is null, not a mapping"),
    ("42", "the state is int, not a mapping"),
    ('"text"', "the state is str, not a mapping"),
    ("", "not JSON"),
    ("{", "not JSON"),
    ("\x00\xff garbage", "not JSON"),
    ('{"failures": []}', "failures is list, not a mapping"),
    ('{"failures": {"l1-1": "x"}}', "failures['l1-1'] is 'x', not a count"),
    ('{"failures": {"l1-1": -1}}', "not a count"),
    ('{"failures": {"l1-1": true}}', "not a count"),
    ('{"failures": {"l1-1": NaN}}', "not a count"),
    ('{"failures": {"l1-1": 1.5}}', "not a count"),
    ('{"assignments": null}', "assignments is NoneType, not a mapping"),
    ('{"assignments": {"g": ["samp-1"]}}', "not a mapping of producer to aggregator"),
    ('{"assignments": {"g": {"samp-1": 3}}}', "not a mapping of producer to aggregator"),
    ('{"sampler_configs": "x"}', "sampler_configs is str, not a mapping"),
    ('{"sampler_configs": {"samp-1": {"meminfo1": null}}}', "not a mapping of instance to digest"),
    ('{"sampler_digests": {"samp-1": 7}}', "sampler_digests['samp-1'] is 7, not a digest"),
    ('{"version": 2}', "version is 2, not 1"),
]


@pytest.mark.parametrize("text, problem", CORRUPT, ids=[text or "empty" for text, unused in CORRUPT])
def test_an_unusable_state_is_moved_aside_and_the_run_starts_afresh(tmp_path, text, problem):
    store = FileState(str(tmp_path))
    (tmp_path / "reconcile-state.json").write_text(text, errors="surrogateescape")
    with store.locked():
        state = store.load()
    assert state == EMPTY_STATE
    assert problem in store.discarded["problem"]
    assert store.discarded["location"] == str(tmp_path / "reconcile-state.json")
    kept = store.discarded["kept_as"]
    assert os.path.dirname(kept) == str(tmp_path) and ".corrupt-" in kept
    assert open(kept, errors="surrogateescape").read() == text  # kept for inspection
    assert not (tmp_path / "reconcile-state.json").exists()
    state["failures"]["l1-1"] = 1  # the run goes on, and the next save is a good state
    store.save(state)
    assert FileState(str(tmp_path)).load()["failures"] == {"l1-1": 1}


def test_check_mode_leaves_an_unusable_state_where_it_is(tmp_path):
    (tmp_path / "reconcile-state.json").write_text("[]")
    store = FileState(str(tmp_path))
    assert store.load(check=True) == EMPTY_STATE
    assert store.discarded["kept_as"] is None and "list" in store.discarded["problem"]
    assert os.listdir(tmp_path) == ["reconcile-state.json"]


def test_a_directory_at_the_state_path_is_moved_aside(tmp_path):
    (tmp_path / "reconcile-state.json").mkdir()
    store = FileState(str(tmp_path))
    assert store.load() == EMPTY_STATE and store.discarded["problem"] == "it is a directory"
    assert os.path.isdir(store.discarded["kept_as"])


def test_a_good_state_is_kept_and_missing_sections_are_filled(tmp_path):
    store = FileState(str(tmp_path))
    (tmp_path / "reconcile-state.json").write_text(json.dumps(GOOD))
    assert store.load() == GOOD and store.discarded is None
    (tmp_path / "reconcile-state.json").write_text('{"failures": {"l1-1": 1}}')
    assert store.load() == dict(EMPTY_STATE, failures={"l1-1": 1}) and store.discarded is None
    assert state_problems(GOOD) == [] and state_problems(EMPTY_STATE) == []


def test_an_unreadable_state_is_an_error_not_a_reset(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    (tmp_path / "reconcile-state.json").write_text("{}")
    os.chmod(tmp_path / "reconcile-state.json", 0)
    with pytest.raises(StateError, match="cannot read"):
        FileState(str(tmp_path)).load()


def test_links_in_the_state_directory_are_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    for name in ("reconcile-state.json", "reconcile-report.json"):
        os.symlink(outside, state_dir / name)
    write_json_atomically(str(state_dir / "reconcile-report.json"), {"changed": False})
    FileState(str(state_dir)).save(dict(EMPTY_STATE))
    assert outside.read_text() == "precious\n"
    assert not os.path.islink(state_dir / "reconcile-report.json")
    assert oct(os.stat(state_dir / "reconcile-state.json").st_mode & 0o777) == "0o600"
    os.symlink(outside, state_dir / "reconcile.lock")
    with pytest.raises(OSError):
        with FileState(str(state_dir)).locked():
            pytest.fail("the lock must not be taken through a link")
    assert outside.read_text() == "precious\n"


def test_two_unusable_states_in_one_second_are_both_kept(tmp_path):
    store = FileState(str(tmp_path))
    kept = []
    for text in ("[]", "null", "42"):
        (tmp_path / "reconcile-state.json").write_text(text)
        store.load()
        kept.append(store.discarded["kept_as"])
    assert len(set(kept)) == 3 and [open(path).read() for path in kept] == ["[]", "null", "42"]


def test_check_mode_creates_no_directory_and_no_lock(tmp_path):
    store = FileState(str(tmp_path / "state"))
    with store.locked(check=True):
        assert store.load(check=True) == EMPTY_STATE
    assert not (tmp_path / "state").exists()


def test_check_mode_waits_for_a_run_holding_the_lock_and_writes_no_pid(tmp_path):
    with FileState(str(tmp_path)).locked():
        pid = (tmp_path / LOCK_FILE).read_text()
        with pytest.raises(StateBusy):
            with FileState(str(tmp_path), lock_wait=0.3).locked(check=True):
                pass
    (tmp_path / LOCK_FILE).write_text("4242\n")
    with FileState(str(tmp_path)).locked(check=True):
        pass
    assert pid == "%d\n" % os.getpid() and (tmp_path / LOCK_FILE).read_text() == "4242\n"
