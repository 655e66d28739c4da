"""A simulated ldmsd in this process, reached by the modules over a real socket.

The modules build their own LdmsdClient from ``ldms_prefix``: pointed at the
simulator's prefix, the client imports the simulator's drop-in
``ldmsd.ldmsd_communicator`` and talks to the daemon served here on a free
port. That import is undone after each test, so that tests of real LDMS in
the same run import the real one.
"""

import os
import sys
import threading
import time

import pytest

SIMULATOR = os.path.join(os.path.dirname(__file__), "..", "..", "simulator")
sys.path.insert(0, SIMULATOR)
import ldmsd_sim  # noqa: E402 pylint: disable=wrong-import-position
from harness import SIMULATOR_PREFIX, free_ports  # noqa: E402 pylint: disable=wrong-import-position

LDMS_PACKAGES = ("ldmsd", "ovis_ldms")


class SimulatedLdmsd:
    """One simulated daemon: ``daemon`` is its state, ``args`` the connection options of a module task."""

    def __init__(self, name="agg"):
        self.daemon = ldmsd_sim.Daemon(name, "none", None)
        self.port = free_ports(1)[0]
        self.servers = ldmsd_sim.serve(self.daemon, [("127.0.0.1", self.port)])
        self.args = {"host": "127.0.0.1", "port": self.port, "ldms_prefix": SIMULATOR_PREFIX}
        self.requests = []
        self.refused = {}
        handle = self.daemon.handle

        def recorded(verb, attrs):
            self.requests.append(verb)
            if verb in self.refused:
                return self.refused[verb]
            return handle(verb, attrs)

        self.daemon.handle = recorded
        self.serving = threading.Event()
        self.serving.set()
        threading.Thread(target=self._update_loop, daemon=True).start()

    def _update_loop(self):
        """What ldmsd's own threads do: pull the producers' sets, store them."""
        while self.serving.is_set():
            self.daemon.update()
            time.sleep(0.1)

    def refuse(self, verb, errcode, message):
        """From now on the daemon answers ``verb`` with this error."""
        self.refused[verb] = (errcode, message)

    def changes(self):
        """The requests received that are not status reads."""
        return [verb for verb in self.requests if not verb.endswith(("_status", "_list", "_sets")) and verb != "version"]

    def close(self, wait=True):
        """Stop serving; without ``wait``, in the background (shutdown waits for the server's next poll)."""
        self.serving.clear()
        self.daemon.stop_producers()
        for server in self.servers:
            if wait:
                _stop(server)
            else:
                threading.Thread(target=_stop, args=(server,), daemon=True).start()


def _stop(server):
    server.shutdown()
    server.server_close()


def _ldms_modules():
    return {name: module for name, module in sys.modules.items() if name.split(".")[0] in LDMS_PACKAGES}


@pytest.fixture()
def simulated_ldmsd():
    """Makes simulated daemons (``simulated_ldmsd(name)``); they stop after the test."""
    saved_modules, saved_path = _ldms_modules(), list(sys.path)
    for name in saved_modules:
        del sys.modules[name]
    made = []

    def make(name="agg"):
        made.append(SimulatedLdmsd(name))
        return made[-1]

    try:
        yield make
    finally:
        for sim in made:
            sim.close(wait=False)
        for name in _ldms_modules():
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path


@pytest.fixture()
def ldmsd(simulated_ldmsd):  # pylint: disable=redefined-outer-name
    """One simulated daemon."""
    return simulated_ldmsd()
