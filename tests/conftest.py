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


SIMULATOR_SITE = os.path.join(REPO, "tests", "simulator", "prefix", "lib", "python3", "site-packages")


@pytest.fixture(autouse=True)
def _leave_no_simulator_behind():
    """What a test ran of the simulator in this process ends with it.

    Its daemons' producer loops would poll for the rest of the run, and its
    communicator, left imported, would stand in for real LDMS in later tests
    (the client refuses a communicator from another prefix).
    """
    yield
    simulator = sys.modules.get("ldmsd_sim")
    if simulator is not None:
        for daemon in list(simulator.Daemon.live):
            daemon.stop_producers()
    site = os.path.realpath(SIMULATOR_SITE) + os.sep
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("ldmsd", "ovis_ldms") and \
                os.path.realpath(getattr(module, "__file__", None) or "/").startswith(site):
            del sys.modules[name]
    sys.path[:] = [path for path in sys.path if os.path.realpath(path) + os.sep != site]
