"""Make the checkout importable as ``ansible_collections.hpc.ldms`` without installing it."""

import hashlib
import os
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_root():
    # One root per checkout, so that two checkouts can run their suites at once.
    tag = hashlib.sha1(REPO.encode()).hexdigest()[:8]
    root = os.path.join(tempfile.gettempdir(), "hpc-ldms-tests-%d-%s" % (os.getuid(), tag))
    link = os.path.join(root, "ansible_collections", "hpc", "ldms")
    if os.path.realpath(link) != REPO:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


COLLECTION_ROOT = _collection_root()
if COLLECTION_ROOT not in sys.path:
    sys.path.insert(0, COLLECTION_ROOT)


@pytest.fixture(autouse=True)
def _end_in_process_producers():
    """A simulated daemon run in this process outlives its test: end its producers' loops, or they poll for the rest of the run."""
    yield
    simulator = sys.modules.get("ldmsd_sim")
    if simulator is not None:
        for daemon in list(simulator.Daemon.live):
            daemon.stop_producers()
