"""Make ``ansible_collections.hpc.ldms`` importable from this checkout, uninstalled."""

import atexit
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def activate():
    root = tempfile.mkdtemp(prefix="hpc-ldms-path-")
    os.makedirs(os.path.join(root, "ansible_collections", "hpc"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "hpc", "ldms"))
    sys.path.insert(0, root)
    atexit.register(shutil.rmtree, root, True)
    return root
