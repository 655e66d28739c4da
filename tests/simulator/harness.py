"""Where the ldmsd under test comes from: real LDMS when installed, else the simulator.

``LDMS_PREFIX`` wins; otherwise ``/opt/ovis`` when it has ``sbin/ldmsd``;
otherwise the simulator's fake prefix beside this file. The same tests run
against whichever it is.
"""

import glob
import os
import socket
import sys
import time

from ansible_collections.hpc.ldms.plugins.module_utils.deploy.process import ldms_runtime_env

SIMULATOR_PREFIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prefix")


def ldms_prefix():
    if os.environ.get("LDMS_PREFIX"):
        return os.environ["LDMS_PREFIX"]
    if os.access("/opt/ovis/sbin/ldmsd", os.X_OK):
        return "/opt/ovis"
    return SIMULATOR_PREFIX


PREFIX = ldms_prefix()
LDMSD = os.path.join(PREFIX, "sbin", "ldmsd")
IS_SIMULATOR = os.path.realpath(PREFIX) == os.path.realpath(SIMULATOR_PREFIX)


def ldms_env():
    env = dict(os.environ)
    env.setdefault("LDMS_SIMULATOR_PYTHON", sys.executable)
    site = glob.glob(os.path.join(PREFIX, "lib*", "python3*", "site-packages"))
    env.update(ldms_runtime_env(PREFIX))
    # LDMS_PREFIX too: the modules and the reconcile must talk through the same LDMS as the daemons run.
    env.update(PATH="%s/sbin:%s/bin:%s" % (PREFIX, PREFIX, env["PATH"]), PYTHONPATH=":".join(site), LDMS_PREFIX=PREFIX)
    return env


def free_ports(count):
    sockets = [socket.socket() for _index in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def wait_listening(port, process=None, timeout=60.0):
    """Returns once something accepts on 127.0.0.1:port: a fixed pause is too short on a loaded machine."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError("ldmsd for port %d exited with %s before it listened" % (port, process.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("nothing listens on 127.0.0.1:%d after %.0f s" % (port, timeout))
            time.sleep(0.1)
