"""ldmsd_process's pid, digest and log files: links planted at their names are never written through."""

import os
import stat

import pytest

from ansible_collections.hpc.ldms.plugins.module_utils.deploy.process import ProcessSpec, running, start, stop
from ansible_collections.hpc.ldms.plugins.module_utils.fileio import open_append, read_regular, write_atomic


def spec_in(run_dir):
    return ProcessSpec(argv=["/bin/sleep", "60"], environment={}, pidfile=str(run_dir / "d.pid"),
                       log=str(run_dir / "d.log"))


def test_links_at_the_pid_and_digest_files_are_replaced(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    spec = spec_in(run_dir)
    os.symlink(outside, spec.pidfile)
    os.symlink(outside, spec.pidfile + ".json")
    pid = start(spec)
    try:
        assert outside.read_text() == "precious\n"
        assert not os.path.islink(spec.pidfile) and running(spec) == {"pid": pid, "digest": spec.digest()}
        assert stat.S_IMODE(os.stat(spec.pidfile).st_mode) == 0o644
    finally:
        stop(spec, pid)
    assert not os.path.lexists(spec.pidfile)


def test_a_link_at_the_log_is_refused_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    spec = spec_in(run_dir)
    os.symlink(outside, spec.log)
    with pytest.raises(OSError):
        start(spec)
    assert outside.read_text() == "precious\n" and not os.path.lexists(spec.pidfile)


def test_a_linked_pid_file_is_not_read(tmp_path):
    """A pid read through a link could make stop() signal an unrelated process."""
    (tmp_path / "other").write_text("1\n")
    spec = spec_in(tmp_path)
    os.symlink(tmp_path / "other", spec.pidfile)
    assert running(spec) is None


def test_helpers_on_fifos_and_links(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    assert read_regular(str(tmp_path / "fifo")) is None  # returns at once
    with pytest.raises(OSError):
        open_append(str(tmp_path / "fifo"))
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    assert read_regular(str(tmp_path / "dangling")) is None
    write_atomic(str(tmp_path / "dangling"), b"data", mode=0o600)
    assert (tmp_path / "dangling").read_bytes() == b"data" and not (tmp_path / "missing").exists()
    assert stat.S_IMODE(os.stat(tmp_path / "dangling").st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["dangling", "fifo"]
