"""Make the checkout importable as ``ansible_collections.hpc.ldms`` without installing it."""

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_root():
    root = os.path.join(tempfile.gettempdir(), "hpc-ldms-tests-%d" % os.getuid())
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
