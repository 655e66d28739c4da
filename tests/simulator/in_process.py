"""LdmsdClient over a simulated daemon in this process: the client's own request encoding, no socket."""

import json
import os

from ansible_collections.hpc.ldms.plugins.module_utils.apply.client import LdmsdClient

import ldmsd_sim

PREFIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prefix")


class InProcessConnection:
    """The simulator communicator's connection, answered by ``daemon`` as the simulated ldmsd answers a socket."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.reply = None

    def send_command(self, cmd):
        self.reply = json.dumps(ldmsd_sim.reply_to(self.daemon, json.loads(cmd))).encode() + b"\n"

    def receive_response(self, recv_len=None):
        return self.reply

    def close(self):
        pass


class InProcessClient(LdmsdClient):
    """The real client (requests built by its encoding, replies checked by it) to ``daemon``."""

    def __init__(self, daemon=None, name="agg"):
        super().__init__(port=0, host="in-process", ldms_prefix=PREFIX)
        self.daemon = daemon or ldmsd_sim.Daemon(name, "none", None)
        self.daemon.connects = False  # its peers are names in a test: nothing to reach, no packet to send

    def connect(self):
        if self.comm is None:
            self.comm = InProcessConnection(self.daemon)

    def sets_directory(self):
        return self.daemon.directory()
