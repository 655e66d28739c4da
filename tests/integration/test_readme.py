"""README.md works as written: every ```sh block, verbatim, in order, from a clean shell.

Each block runs as ``sh -e`` in the checkout with nothing in the environment
but HOME (an empty directory) and PATH (the venv's bin, /usr/bin, /bin), plus
LDMS_PREFIX when the LDMS under test is not /opt/ovis. The first block is
``make demo``, whose example listens on fixed ports: everything runs in a
network namespace of its own, so those ports cannot clash with anything.

A block preceded by ``<!-- not-run: REASON -->`` is skipped, and one preceded
by ``<!-- real-ldms-only: REASON -->`` runs only against real LDMS.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "simulator"))
from harness import IS_SIMULATOR, PREFIX  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(REPO, "README.md")
DEMO_DIR = os.path.join(REPO, "out", "demo")
BLOCK = re.compile(r"(?:<!-- (?P<marker>not-run|real-ldms-only): (?P<reason>[^>]*?) -->\n)?```sh\n(?P<body>.*?)```",
                   re.S)
# Blocks that cannot run on one host; each says why in its marker.
MAX_NOT_RUN = 4


def readme_blocks():
    with open(README, encoding="utf-8") as stream:
        return [(match["marker"], match["reason"], match["body"]) for match in BLOCK.finditer(stream.read())]


def test_blocks_that_do_not_run_are_few_and_say_why():
    blocks = readme_blocks()
    not_run = [reason for marker, reason, _body in blocks if marker == "not-run"]
    assert len(blocks) >= 8
    assert len(not_run) <= MAX_NOT_RUN, not_run
    assert all(reason.strip() for marker, reason, _body in blocks if marker), blocks
    assert blocks[0][2].strip() == "make demo", "the README's first command is the demo"


@pytest.fixture()
def netns():
    """A process holding a fresh network namespace with loopback up."""
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.fail("the README test needs unshare and nsenter (util-linux)")
    if os.path.exists(DEMO_DIR):
        pytest.fail("%s exists: a demo is running in this checkout; run make demo-stop first" % DEMO_DIR)
    holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "3600"])
    try:
        # Until unshare has run, the holder is still in this namespace.
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 30
        while os.readlink("/proc/%d/ns/net" % holder.pid) == ours:
            assert holder.poll() is None and time.monotonic() < deadline, "unshare --net did not make a namespace"
            time.sleep(0.05)
        enter = ["nsenter", "--net=/proc/%d/ns/net" % holder.pid, "--"]
        subprocess.run(enter + ["ip", "link", "set", "lo", "up"], check=True, timeout=30)
        yield enter
    finally:
        for pidfile in glob.glob(os.path.join(DEMO_DIR, "run", "*.pid")):
            try:
                os.kill(int(open(pidfile).read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(DEMO_DIR, ignore_errors=True)
        holder.kill()
        holder.wait()


def test_every_command_block_runs_verbatim(netns, tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "%s/.venv/bin:/usr/bin:/bin" % REPO}
    if os.path.realpath(PREFIX) != "/opt/ovis":
        env["LDMS_PREFIX"] = PREFIX
    tarballs = set(glob.glob(os.path.join(REPO, "*.tar.gz")))
    ran = []
    try:
        for marker, _reason, body in readme_blocks():
            if marker == "not-run" or (marker == "real-ldms-only" and IS_SIMULATOR):
                continue
            run = subprocess.run(netns + ["env", "-i"] + ["%s=%s" % item for item in env.items()]
                                 + ["sh", "-e", "-c", body], cwd=REPO, capture_output=True, text=True,
                                 timeout=600, check=False)
            ran.append((body, run.stdout))
            assert run.returncode == 0, "README block failed:\n%s\n--- stdout\n%s\n--- stderr\n%s" % (
                body, run.stdout[-6000:], run.stderr[-3000:])
    finally:
        for tarball in set(glob.glob(os.path.join(REPO, "*.tar.gz"))) - tarballs:
            os.unlink(tarball)
    demo = ran[0][1]
    # The demo ran the main job: every sampler set reached the top, and the reconcile reported.
    assert "4 sets at l2-agg (level 2)" in demo and "missing sets 0; converged True" in demo, demo[-3000:]
    heal = next(stdout for body, stdout in ran if body.startswith("kill "))
    assert "1 dead aggregators; 1 producers moved" in heal and '"query_result": 4' in heal, heal[-3000:]
    check = next(stdout for body, stdout in ran if "hpc.ldms.site" in body and "--check --diff" in body)
    # After make demo-stop, the daemons are predicted from scratch, with a readable diff.
    assert "+++ after: producers 127.0.0.1:20411\n@@ -0,0 +1,2 @@\n+prdcr_add name=sampler-1-sock" in check, check[-6000:]
    assert "verify skipped" in check, check[-3000:]
