"""Simulated ldmsd 4.5.3: a test double for hosts without LDMS.

Takes ldmsd's command line (-x sock:PORT, -c FILE, -l LOG, -r PIDFILE, -F,
-a AUTH) and its config-file language, listens on its port for control
requests (JSON lines, from the drop-in ldmsd_communicator beside it) and for
peers. Producers really connect to the daemons they name; updaters copy the
set lists of connected producers; storage policies append CSV rows. Replies,
errcodes and messages follow the captures of a real 4.5.3.

A peer that stops answering (SIGSTOP) is what 4.5.3 shows for it: its
producer stays CONNECTED (or CONNECTING, if it was not connected yet), its
sets stay listed as UPDATING with their last update time, nothing of them is
stored, and while they are held the same instance offered by another
producer is refused ("The set '...' already exists", state START), until
that producer is stopped.
"""

import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import weakref

SAMPLERS = {"meminfo", "vmstat", "procstat", "loadavg", "jobid", "dstat", "procnetdev", "filesingle",
            "lustre_client", "procdiskstats", "sysclassib", "edac", "procnfs", "slurm_sampler"}
STORES = {"store_csv", "store_sos", "store_none"}
UNIT_US = {"us": 1, "ms": 1000, "s": 1000000, "m": 60000000, "h": 3600000000, "d": 86400000000}
LOCK = threading.RLock()
# Seconds between a connected producer's polls of its peer's sets.
POLL_S = float(os.environ.get("LDMS_SIMULATOR_POLL", "0.5"))
# --many mode: daemons of this process by port, reached without a socket.
LOCAL_DAEMONS = {}


def time_us(text):
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d)?\s*", str(text))
    if not match:
        raise ValueError(text)
    return int(float(match.group(1)) * UNIT_US[match.group(2) or "us"])


class Daemon:
    # The daemons of this process, for tests that run them in-process and must end their producers' loops.
    live = weakref.WeakSet()

    def __init__(self, name, auth, log):
        Daemon.live.add(self)
        self.name, self.auth, self.log_path = name, auth, log
        self.plugins, self.producers, self.updaters, self.strgps = {}, {}, {}, {}
        self.visible = {}  # producer name -> {inst: schema}
        self.stamps = {}  # inst -> last update time of a visible set
        self.blocked = {}  # producer name -> {inst: schema} refused: another producer holds the instance
        self.listeners_by_name = {}
        # Auth domains by name; -a makes DEFAULT, auth_add the others.
        self.auth_domains = {"DEFAULT": {"plugin": auth, "options": None}}
        self.listening = set()  # (xprt, port)
        self.serve_listener = None  # set once serving: opens a run-time listener
        self.from_api = False
        self.exit_code = None
        self.config_log = None  # (bits, path) of -L / option --log_config
        self.connects = True  # False: started producers stay CONNECTING, no thread reaches out

    def stop_producers(self):
        """Ends every producer's connect loop, as a daemon's exit does."""
        with LOCK:
            self.producers.clear()

    def set_config_log(self, value):
        """ldmsd's -L INT:PATH: bit 2 logs each successful change, bit 32 prefixes the epoch."""
        bits, _sep, path = value.partition(":")
        self.config_log = (int(bits), path)
        with open(path, "a") as stream:
            stream.write("# log begin: %.6f\n" % time.time())

    def log_change(self, verb, attrs):
        bits, path = self.config_log
        if not bits & 2 or verb.endswith(("_status", "_list", "_sets")) or verb in ("version", "daemon_status"):
            return
        stamp = "%.6f: " % time.time() if bits & 32 else ""
        with open(path, "a") as stream:
            stream.write("%s%s %s\n" % (stamp, verb, " ".join("%s=%s" % item for item in attrs.items())))

    def log(self, text):
        if self.log_path:
            with open(self.log_path, "a") as stream:
                stream.write("%s %s\n" % (time.strftime("%H:%M:%S"), text))

    # -- sets ------------------------------------------------------------
    def own_sets(self):
        """Sets of configured sampler instances: ldmsd creates them at config, not at start."""
        return {inst: schema for inst, schema, _plugin in self._sampler_sets()}

    def _sampler_sets(self):
        for name, plugin in self.plugins.items():
            if plugin["kind"] == "sampler" and plugin["configured"]:
                config = plugin["config"]
                producer = config.get("producer", self.name)
                yield (config.get("instance", "%s/%s" % (producer, name)), config.get("schema", plugin["plugin"]),
                       plugin)

    @staticmethod
    def _own_stamp(plugin, now):
        if not plugin["interval"]:
            return 0.0
        if plugin["running"]:
            interval, offset = plugin["interval"] / 1e6, (plugin["offset"] or 0) / 1e6
            return now - ((now - offset) % interval)
        return plugin["stopped_at"] or 0.0

    def directory(self):
        """What an LDMS dir returns: update hint (after a start) and last transaction time."""
        now = time.time()
        entries = []
        for inst, schema, plugin in self._sampler_sets():
            info = {}
            if plugin["interval"]:
                info["updt_hint_us"] = "%d:%d" % (plugin["interval"], plugin["offset"] or 0)
            entries.append({"name": inst, "schema": schema, "info": info, "timestamp": self._own_stamp(plugin, now)})
        return entries

    def all_stamps(self):
        now = time.time()
        stamps = {inst: stamp for inst, stamp in self.stamps.items()
                  if any(inst in sets for sets in self.visible.values())}
        stamps.update({inst: self._own_stamp(plugin, now) for inst, _schema, plugin in self._sampler_sets()})
        return stamps

    def all_sets(self):
        sets = self.own_sets()
        for producer_sets in self.visible.values():
            sets.update(producer_sets)
        return sets

    # -- requests --------------------------------------------------------
    def handle(self, verb, attrs):
        handler = getattr(self, "do_" + verb, None)
        self.log("request: %s %s" % (verb, " ".join("%s=%s" % item for item in attrs.items())))
        if verb == "smplr_add":  # reachable from a config file only: 4.5.3's Python API has no such verb
            return 38, "The request is not implemented"
        if handler is None:
            return 0, None  # accepted and ignored, as many start-up commands are here
        with LOCK:
            errcode, message = handler(attrs)
        if self.config_log and not errcode:
            self.log_change(verb, attrs)
        return errcode, message

    def do_version(self, attrs):
        return 0, json.dumps({"LDMSD Version": "4.5.3", "LDMS Protocol Version": "4.2.0.0",
                              "LDMSD Plugin Interface Version": "3.2.2.0", "git-SHA": "simulator"})

    def do_daemon_status(self, attrs):
        return 0, json.dumps({"state": "ready"})

    def do_load(self, attrs):
        name = attrs.get("name")
        plugin = attrs.get("plugin", name)
        if name in self.plugins:
            return 17, "Error 17 adding sampler named '%s' with plugin '%s'\n" % (name, plugin)
        if plugin not in SAMPLERS | STORES:
            return 2, ("Error 2 plugin '%s': failed to load the plugin, dlerror: /opt/ovis/lib/ovis-ldms/lib%s.so: "
                       "cannot open shared object file: No such file or directory\n" % (plugin, plugin))
        self.plugins[name] = {"plugin": plugin, "kind": "store" if plugin in STORES else "sampler",
                              "config": {}, "configured": False, "running": False, "interval": None, "offset": None,
                              "stopped_at": None}
        return 0, None

    def do_config(self, attrs):
        name = attrs.get("name")
        if name not in self.plugins:
            return 2, "The specified plugin instance '%s' does not exist." % name
        config = {key: value for key, value in attrs.items() if key != "name"}
        for token in (attrs.get("__string__") or "").split():
            key, _sep, value = token.partition("=")
            config[key] = value
        config.pop("__string__", None)
        self.plugins[name]["config"].update(config)
        self.plugins[name]["configured"] = True
        return 0, None

    def do_start(self, attrs):
        plugin = self.plugins.get(attrs.get("name"))
        if plugin is None:
            return 2, "Sampler instance '%s' not found." % attrs.get("name")
        if plugin["running"]:
            return 16, "Sampler instance '%s' is already running." % attrs["name"]
        try:
            plugin["interval"] = time_us(attrs.get("interval", "1000000"))
            plugin["offset"] = time_us(attrs["offset"]) if "offset" in attrs else None
        except ValueError:
            return 22, "The given interval is invalid."
        plugin["running"] = True
        return 0, None

    def do_stop(self, attrs):
        plugin = self.plugins.get(attrs.get("name"))
        if plugin is None:
            return 2, "Sampler instance '%s' not found." % attrs.get("name")
        if not plugin["running"]:
            return 22, "The sampler instance '%s' is not running." % attrs["name"]
        plugin["running"] = False
        plugin["stopped_at"] = time.time()
        return 0, None

    def do_term(self, attrs):
        plugin = self.plugins.get(attrs.get("name"))
        if plugin is None:
            return 2, "plugin instance '%s' not found." % attrs.get("name")
        if plugin["running"]:
            return 16, "Failed to terminate the plugin instance '%s'." % attrs["name"]
        del self.plugins[attrs["name"]]
        return 0, None

    def do_plugn_status(self, attrs):
        return 0, json.dumps([{"name": name, "plugin": p["plugin"],
                               "type": ("store" if p["kind"] == "store" else "sampler") + "[M]",
                               "libpath": "/opt/ovis/lib/ovis-ldms/lib%s.so" % p["plugin"]}
                              for name, p in sorted(self.plugins.items())])

    def do_plugn_sets(self, attrs):
        replies = []
        for name, plugin in sorted(self.plugins.items()):
            if plugin["kind"] == "sampler" and plugin["configured"]:
                producer = plugin["config"].get("producer", self.name)
                replies.append({"plugin": name, "sets": [plugin["config"].get("instance", "%s/%s" % (producer, name))]})
        return 0, json.dumps(replies)

    # auth domains and listeners
    def do_auth_add(self, attrs):
        if not attrs.get("name"):
            return 22, "Attribute 'name' is required"
        if attrs["name"] in self.auth_domains:
            return 17, "Authentication domain creation failed, errno: 17"
        self.auth_domains[attrs["name"]] = {"plugin": attrs.get("plugin") or attrs["name"],
                                            "options": attrs.get("__string__")}
        return 0, None

    def do_listen(self, attrs):
        if attrs.get("auth") and attrs["auth"] not in self.auth_domains:
            return 2, "Authentication domain '%s' not found." % attrs["auth"]
        key = (attrs.get("xprt", "sock"), int(attrs["port"]))
        if key in self.listening:
            return 17, "The listening endpoint %s:%s is already exists" % key
        if self.serve_listener is not None:
            try:
                self.serve_listener(attrs.get("host") or "0.0.0.0", key[1])
            except OSError:
                return 98, "Error listening on %s:%s" % key
        self.listening.add(key)
        return 0, None

    # producers
    def do_prdcr_add(self, attrs):
        for key in ("name", "xprt", "host", "port", "type", "reconnect"):
            if key not in attrs:
                return 22, "The attribute '%s' is required." % key
        if attrs.get("auth", "DEFAULT") not in self.auth_domains:
            return 2, "Authentication name not found, check the auth_add configuration."
        if attrs["type"] not in ("active", "passive", "bridge", "advertiser", "advertised"):
            return 22, "The attribute type '%s' is invalid." % attrs["type"]
        if attrs["name"] in self.producers:
            return 17, "The prdcr %s already exists." % attrs["name"]
        self.producers[attrs["name"]] = {
            "host": attrs["host"], "port": int(attrs["port"]), "xprt": attrs["xprt"], "type": attrs["type"],
            "reconnect": time_us(attrs["reconnect"]), "auth": attrs.get("auth", "DEFAULT"),
            "rail": attrs.get("rail", "1"), "quota": attrs.get("quota", "-1"), "rx_rate": attrs.get("rx_rate", "-1"),
            "state": "STOPPED", "generation": 0}
        return 0, None

    def do_prdcr_start(self, attrs):
        producer = self.producers.get(attrs.get("name"))
        if producer is None:
            return 2, "The producer specified does not exist."
        if producer["state"] != "STOPPED":
            return 16, "The producer is already running."
        producer["state"] = "CONNECTING"
        producer["generation"] += 1
        producer["started"] = True  # 4.5.3's prdcr_start takes a reference that prdcr_stop never drops
        if self.connects:
            threading.Thread(target=self.connect_loop, args=(attrs["name"], producer["generation"]), daemon=True).start()
        self.log("producer %s: CONNECTING" % attrs["name"])
        return 0, None

    def do_prdcr_stop(self, attrs):
        producer = self.producers.get(attrs.get("name"))
        if producer is None:
            return 2, "The producer specified does not exist."
        producer["state"] = "STOPPED"
        producer["generation"] += 1
        producer["hung"] = False
        self.visible.pop(attrs["name"], None)
        self.blocked.pop(attrs["name"], None)
        self.log("producer %s: STOPPED" % attrs["name"])
        return 0, None

    def do_prdcr_del(self, attrs):
        producer = self.producers.get(attrs.get("name"))
        if producer is None:
            return 2, "The producer specified does not exist."
        if (producer["state"] != "STOPPED" or producer.get("started")
                or any(attrs["name"] in u["members"] for u in self.updaters.values())):
            return 16, "The producer is in use."  # a start's or an updater's reference keeps it, as in ldmsd
        del self.producers[attrs["name"]]
        return 0, None

    # advertisers are producers of type advertiser
    def do_advertiser_add(self, attrs):
        attrs = dict(attrs)
        if "type" not in attrs and not self.from_api:
            attrs["type"] = "advertiser"  # a config file may leave it out; the API may not
        return self.do_prdcr_add(attrs)

    def do_advertiser_start(self, attrs):
        return self.do_prdcr_start(attrs)

    def do_advertiser_stop(self, attrs):
        return self.do_prdcr_stop(attrs)

    def do_advertiser_del(self, attrs):
        return self.do_prdcr_del(attrs)

    # producer listeners
    def do_prdcr_listen_add(self, attrs):
        if attrs.get("name") in self.listeners_by_name:
            return 17, "The prdcr_listen %s already exists." % attrs["name"]
        self.listeners_by_name[attrs["name"]] = {"regex": attrs.get("regex"), "ip": attrs.get("ip"),
                                                 "quota": attrs.get("quota", "-1"),
                                                 "rx_rate": attrs.get("rx_rate", "-1"),
                                                 "type": attrs.get("type", "passive"), "state": "stopped"}
        return 0, None

    def _listener_state(self, attrs, state):
        listener = self.listeners_by_name.get(attrs.get("name"))
        if listener is None:
            return 2, "prdcr_listen '%s' not found." % attrs.get("name")
        listener["state"] = state
        return 0, None

    def do_prdcr_listen_start(self, attrs):
        return self._listener_state(attrs, "running")

    def do_prdcr_listen_stop(self, attrs):
        return self._listener_state(attrs, "stopped")

    def do_prdcr_listen_del(self, attrs):
        listener = self.listeners_by_name.get(attrs.get("name"))
        if listener is None:
            return 2, "prdcr_listen '%s' not found." % attrs.get("name")
        if listener["state"] == "running":
            return 16, "prdcr_listen '%s' is in use." % attrs["name"]
        del self.listeners_by_name[attrs["name"]]
        return 0, None

    def do_prdcr_listen_status(self, attrs):
        return 0, json.dumps([{"name": name, "state": l["state"], "regex": l["regex"] or "-",
                               "IP range": l["ip"] or "-", "quota": str(l["quota"]), "rx_rate": str(l["rx_rate"]),
                               "type": l["type"], "producers": []}
                              for name, l in sorted(self.listeners_by_name.items())])

    def connect_loop(self, name, generation):
        while True:
            with LOCK:
                producer = self.producers.get(name)
                if producer is None or producer["generation"] != generation:
                    return
                host, port = producer["host"], producer["port"]
            result = fetch_sets(host, port)
            with LOCK:
                producer = self.producers.get(name)
                if producer is None or producer["generation"] != generation:
                    return
                producer["hung"] = result is HUNG
                if result is HUNG:  # the connection stays up: ldmsd sees no disconnect
                    state = "CONNECTED" if producer["state"] == "CONNECTED" else "CONNECTING"
                elif result is None:
                    state = "DISCONNECTED"
                    producer["remote_sets"], producer["remote_stamps"] = {}, {}
                    self.visible.pop(name, None)  # ldmsd drops the sets of a lost producer
                    self.blocked.pop(name, None)
                else:
                    state = "CONNECTED"
                    producer["remote_sets"], producer["remote_stamps"] = result
                    for held in (self.visible.get(name, {}), self.blocked.get(name, {})):
                        for inst in [inst for inst in held if inst not in result[0]]:
                            del held[inst]  # the peer deleted it: ldmsd's directory update drops it
                if state != producer["state"]:
                    self.log("producer %s: %s" % (name, state))
                producer["state"] = state
                wait = min(producer["reconnect"] / 1e6, 1.0) if result is None else POLL_S
            time.sleep(wait)

    def do_prdcr_status(self, attrs):
        name = attrs.get("name")
        if name is not None and name not in self.producers:
            return 2, "prdcr '%s' doesn't exist." % name
        replies = []
        for key, p in sorted(self.producers.items()):
            if name is not None and key != name:
                continue
            sets = dict(self.visible.get(key, {}))
            set_state = {inst: "UPDATING" if p.get("hung") else "READY" for inst in sets}
            for inst, schema in self.blocked.get(key, {}).items():
                sets[inst], set_state[inst] = schema, "START"
            replies.append({"name": key, "type": p["type"], "host": p["host"], "port": p["port"],
                            "transport": p["xprt"], "auth": p["auth"], "rail": str(p["rail"]),
                            "quota": str(p["quota"]), "rx_rate": str(p["rx_rate"]),
                            "reconnect_us": str(p["reconnect"]), "state": p["state"],
                            "sets": [{"inst_name": inst, "schema_name": schema, "state": set_state[inst]}
                                     for inst, schema in sorted(sets.items())]})
        return 0, json.dumps(replies)

    def do_prdcr_set_status(self, attrs):
        def entry(inst, schema, producer, state, stamp):
            return {"inst_name": inst, "schema_name": schema, "state": state, "origin": inst.split("/")[0],
                    "producer": producer, "timestamp.sec": str(int(stamp)),
                    "timestamp.usec": str(int(stamp * 1e6) % 1000000), "duration.sec": "0", "duration.usec": "10"}

        replies = []
        for producer in sorted(set(self.visible) | set(self.blocked)):
            state = "UPDATING" if self.producers.get(producer, {}).get("hung") else "READY"
            replies += [entry(inst, schema, producer, state, self.stamps.get(inst, 0.0))
                        for inst, schema in sorted(self.visible.get(producer, {}).items())]
            replies += [entry(inst, schema, producer, "START", 0.0)
                        for inst, schema in sorted(self.blocked.get(producer, {}).items())]
        return 0, json.dumps(replies)

    # updaters
    def do_updtr_add(self, attrs):
        if "interval" not in attrs:
            return 22, "The 'interval' attribute is required."
        try:
            interval = time_us(attrs["interval"])
        except ValueError:
            return 22, "The given update interval value (%s) is invalid." % attrs["interval"]
        if attrs.get("name") in self.updaters:
            return 17, "The updtr %s already exists." % attrs["name"]
        push = attrs.get("push")
        auto = str(attrs.get("auto_interval", "false")).lower() == "true"
        mode = "Push" if push in ("true", "yes") else ("OnChange" if push == "onchange" else ("Auto" if auto else "Pull"))
        self.updaters[attrs["name"]] = {"interval": interval, "offset": time_us(attrs.get("offset", "0")),
                                        "mode": mode, "auto": auto, "state": "STOPPED", "members": set(), "match": []}
        return 0, None

    def _updater(self, attrs):
        return self.updaters.get(attrs.get("name"))

    def _stopped_updater(self, attrs):
        updater = self._updater(attrs)
        if updater is None:
            return None, (2, "The updater specified does not exist.")
        if updater["state"] != "STOPPED":
            return None, (16, "Configuration changes cannot be made while the updater is running.")
        return updater, None

    def do_updtr_prdcr_add(self, attrs):
        # ldmsd keeps the producers the regex matches now, not the regex.
        updater, error = self._stopped_updater(attrs)
        if error:
            return error
        updater["members"].update(self.matched_producers([attrs["regex"]]))
        return 0, None

    def do_updtr_prdcr_del(self, attrs):
        updater, error = self._stopped_updater(attrs)
        if error:
            return error
        updater["members"] -= set(n for n in updater["members"] if re.search(attrs["regex"], n))
        return 0, None

    def do_updtr_match_add(self, attrs):
        updater, error = self._stopped_updater(attrs)
        if error:
            return error
        updater["match"].append((attrs["regex"], attrs.get("match", "schema")))
        return 0, None

    def do_updtr_match_del(self, attrs):
        updater, error = self._stopped_updater(attrs)
        if error:
            return error
        wanted = (attrs["regex"], attrs.get("match", "schema"))
        if wanted not in updater["match"]:
            return 2, "The specified regex does not match any condition."
        updater["match"].remove(wanted)
        return 0, None

    def do_updtr_match_list(self, attrs):
        name = attrs.get("name")
        if name is not None and name not in self.updaters:
            return 2, "updtr '%s' does not exist." % name
        return 0, json.dumps([{"name": key, "match": [{"regex": regex, "selector": field} for regex, field in u["match"]]}
                              for key, u in sorted(self.updaters.items()) if name in (None, key)])

    def do_updtr_start(self, attrs):
        updater = self._updater(attrs)
        if updater is None:
            return 2, "The updater specified does not exist."
        if updater["state"] == "RUNNING":
            return 16, "The updater is already running."
        updater["state"] = "RUNNING"
        return 0, None

    def do_updtr_stop(self, attrs):
        updater = self._updater(attrs)
        if updater is None:
            return 2, "The updater specified does not exist."
        updater["state"] = "STOPPED"
        return 0, None

    def do_updtr_del(self, attrs):
        updater = self._updater(attrs)
        if updater is None:
            return 2, "The updater specified does not exist."
        if updater["state"] == "RUNNING":
            return 16, "The updater is in use."
        del self.updaters[attrs["name"]]
        return 0, None

    def matched_producers(self, regexes):
        return [name for name in sorted(self.producers) if any(re.search(regex, name) for regex in regexes)]

    def do_updtr_status(self, attrs):
        name = attrs.get("name")
        if name is not None and name not in self.updaters:
            return 2, "updtr '%s' doesn't exist." % name
        replies = []
        for key, u in sorted(self.updaters.items()):
            if name is not None and key != name:
                continue
            replies.append({"name": key, "interval": str(u["interval"]), "offset": str(u["offset"]), "sync": "true",
                            "mode": u["mode"], "auto": "true" if u["auto"] else "false", "state": u["state"],
                            "producers": [{"name": p, "host": self.producers[p]["host"],
                                           "port": self.producers[p]["port"],
                                           "transport": self.producers[p]["xprt"],
                                           "state": self.producers[p]["state"]}
                                          for p in sorted(u["members"])]})
        return 0, json.dumps(replies)

    def update(self):
        """One pass of every running updater: copy the sets of connected producers."""
        with LOCK:
            for updater in self.updaters.values():
                if updater["state"] != "RUNNING":
                    continue
                for name in sorted(updater["members"]):
                    producer = self.producers[name]
                    if producer["state"] != "CONNECTED" or producer.get("hung"):
                        continue
                    sets = {inst: schema for inst, schema in producer.get("remote_sets", {}).items()
                            if not updater["match"] or any(
                                re.search(regex, inst if field == "inst" else schema)
                                for regex, field in updater["match"])}
                    self._take(name, sets, producer.get("remote_stamps", {}))
            self.store()

    def _take(self, name, sets, stamps):
        """A producer's updated sets; an instance another producer holds is refused, as ldmsd does."""
        held = set(self.own_sets())
        for other, other_sets in self.visible.items():
            if other != name:
                held.update(other_sets)
        blocked = self.blocked.setdefault(name, {})
        for inst, schema in sets.items():
            if inst in held:
                if inst not in blocked:
                    self.log("The set '%s' already exists." % inst)
                blocked[inst] = schema
                continue
            blocked.pop(inst, None)
            self.visible.setdefault(name, {})[inst] = schema
            self.stamps[inst] = stamps.get(inst, 0.0)

    # storage policies
    def do_strgp_add(self, attrs):
        if attrs.get("plugin") not in self.plugins:
            return 2, "The plugin %s does not exist. Forgot load?\n" % attrs.get("plugin")
        if attrs.get("name") in self.strgps:
            return 17, "The strgp %s already exists." % attrs["name"]
        self.strgps[attrs["name"]] = {"plugin": attrs["plugin"], "container": attrs.get("container"),
                                      "schema": attrs.get("schema"), "regex": attrs.get("regex"),
                                      "decomp": attrs.get("decomposition"),
                                      "flush": time_us(attrs.get("flush", "0")), "state": "STOPPED",
                                      "producers": [], "metrics": []}
        return 0, None

    def _strgp(self, attrs):
        return self.strgps.get(attrs.get("name"))

    def _stopped_strgp(self, attrs):
        strgp = self._strgp(attrs)
        if strgp is None:
            return None, (2, "The storage policy specified does not exist.")
        if strgp["state"] != "STOPPED":
            return None, (16, "Configuration changes cannot be made while the storage policy is running.")
        return strgp, None

    def _strgp_list_change(self, attrs, key, value, add):
        strgp, error = self._stopped_strgp(attrs)
        if error:
            return error
        if add:
            strgp[key].append(value)
        elif value in strgp[key]:
            strgp[key].remove(value)
        else:
            return 2, "The specified %s was not found." % ("regex" if key == "producers" else "metric")
        return 0, None

    def do_strgp_prdcr_add(self, attrs):
        return self._strgp_list_change(attrs, "producers", attrs.get("regex"), True)

    def do_strgp_prdcr_del(self, attrs):
        return self._strgp_list_change(attrs, "producers", attrs.get("regex"), False)

    def do_strgp_metric_add(self, attrs):
        return self._strgp_list_change(attrs, "metrics", attrs.get("metric"), True)

    def do_strgp_metric_del(self, attrs):
        return self._strgp_list_change(attrs, "metrics", attrs.get("metric"), False)

    def do_prdcr_stream_status(self, attrs):
        return 0, "{}"  # no stream messages are simulated, as on a daemon that has seen none

    def do_strgp_start(self, attrs):
        strgp = self._strgp(attrs)
        if strgp is None:
            return 2, "The storage policy specified does not exist."
        if strgp["state"] == "RUNNING":
            return 16, "The storage policy is already running."
        strgp["state"] = "RUNNING"
        return 0, None

    def do_strgp_stop(self, attrs):
        strgp = self._strgp(attrs)
        if strgp is None:
            return 2, "The storage policy specified does not exist."
        strgp["state"] = "STOPPED"
        return 0, None

    def do_strgp_del(self, attrs):
        strgp = self._strgp(attrs)
        if strgp is None:
            return 2, "The storage policy specified does not exist."
        if strgp["state"] == "RUNNING":
            return 16, "The storage policy is in use."
        del self.strgps[attrs["name"]]
        return 0, None

    def do_strgp_status(self, attrs):
        name = attrs.get("name")
        if name is not None and name not in self.strgps:
            return 2, "strgp '%s' doesn't exist." % name
        return 0, json.dumps([{"name": key, "container": s["container"], "schema": s["schema"] or "-",
                               "regex": s["regex"] or "-", "plugin": self.plugins[s["plugin"]]["plugin"],
                               "flush": "%f" % (s["flush"] / 1e6), "state": s["state"], "decomp": s["decomp"] or "-",
                               "producers": s["producers"], "metrics": s["metrics"]}
                              for key, s in sorted(self.strgps.items()) if name in (None, key)])

    def store(self):
        for strgp in self.strgps.values():
            if strgp["state"] != "RUNNING":
                continue
            config = self.plugins[strgp["plugin"]]["config"]
            if self.plugins[strgp["plugin"]]["plugin"] != "store_csv" or "path" not in config:
                continue
            for producer, sets in self.visible.items():
                if strgp["producers"] and not any(re.search(r, producer) for r in strgp["producers"]):
                    continue
                if self.producers.get(producer, {}).get("hung"):
                    continue  # no update completes: nothing to store
                for inst, schema in sets.items():
                    if schema != strgp["schema"]:
                        continue
                    directory = os.path.join(config["path"], strgp["container"])
                    os.makedirs(directory, exist_ok=True)
                    path = os.path.join(directory, schema)
                    new = not os.path.exists(path)
                    with open(path, "a") as stream:
                        if new:
                            stream.write("#Time,Time_usec,ProducerName,component_id,job_id,app_id\n")
                        stream.write("%.6f,0,%s,0,0,0\n" % (time.time(), inst.split("/")[0]))

    def do_daemon_exit(self, attrs):
        self.exit_code = 0
        return 0, None


HUNG = object()  # the peer accepts connections but does not answer


def fetch_sets(host, port):
    """(sets, update times) a peer daemon offers; None when it cannot be reached, HUNG when it does not answer."""
    local = LOCAL_DAEMONS.get(int(port))
    if local is not None and host in ("127.0.0.1", "localhost"):
        with LOCK:
            return None if local.exit_code is not None else (local.all_sets(), local.all_stamps())
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            reader = sock.makefile("rb")
            reader.readline()
            sock.sendall(b'{"verb": "__sets", "attrs": []}\n')
            reply = json.loads(reader.readline())
            return reply["sets"], reply.get("stamps", {})
    except TimeoutError:
        return HUNG
    except (OSError, ValueError, KeyError):
        return None


def parse_line(line):
    tokens = line.split()
    attrs, string = {}, []
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if tokens[0] in ("config", "env") and key != "name":
            string.append(token)
        else:
            attrs[key] = os.path.expandvars(value) if sep else None
    if string:
        attrs["__string__"] = os.path.expandvars(" ".join(string))
    return tokens[0], attrs


def reply_to(daemon, request):
    """The reply to one request as the communicator sends it: {verb, attrs, string}."""
    if request["verb"] == "__sets":
        with LOCK:
            return {"sets": daemon.all_sets(), "stamps": daemon.all_stamps()}
    if request["verb"] == "__dir":
        with LOCK:
            return {"sets": daemon.directory()}
    attrs = dict(request.get("attrs") or [])
    if request.get("string"):
        attrs["__string__"] = request["string"]
    daemon.from_api = True
    errcode, message = daemon.handle(request["verb"], attrs)
    return {"errcode": errcode, "msg": message}


def answer(daemon, rfile, wfile):
    """One control connection: a greeting, then a JSON reply per JSON request line."""
    wfile.write(json.dumps({"auth": daemon.auth}).encode() + b"\n")
    wfile.flush()
    for line in rfile:
        wfile.write(json.dumps(reply_to(daemon, json.loads(line))).encode() + b"\n")
        wfile.flush()


def serve(daemon, ports):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            answer(daemon, self.rfile, self.wfile)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 1024  # ldmsd's sock transport listens with this backlog (socketserver's is 5)

    servers = []
    for host, port in ports:
        server = Server((host, port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def serve_many(spec_path):
    """--many SPEC: every daemon of a JSON list of {name, port} in this one process.

    For benchmarks at thousands of daemons, where a process each would not
    fit: one thread accepts on every port, producers read local peers
    directly, and daemon_exit closes just that daemon's port.
    """
    import selectors

    with open(spec_path) as stream:
        spec = json.load(stream)
    selector = selectors.DefaultSelector()
    listeners = {}
    for entry in spec:
        daemon = Daemon(entry["name"], "none", None)
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(entry["port"])))
        listener.listen(1024)
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ, daemon)
        listeners[daemon] = listener
        LOCAL_DAEMONS[int(entry["port"])] = daemon

    def talk(daemon, connection):
        with connection:
            connection.setblocking(True)
            try:
                answer(daemon, connection.makefile("rb"), connection.makefile("wb"))
            except (OSError, ValueError):
                pass

    def accept_forever():
        while True:
            for key, _events in selector.select(timeout=1.0):
                daemon = key.data
                try:
                    connection, _address = key.fileobj.accept()
                except OSError:
                    continue
                if daemon.exit_code is not None:
                    connection.close()
                    continue
                threading.Thread(target=talk, args=(daemon, connection), daemon=True).start()

    threading.Thread(target=accept_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    daemons = list(listeners)
    while True:
        time.sleep(0.25)
        for daemon in daemons:
            if daemon.exit_code is not None and daemon in listeners:
                selector.unregister(listeners[daemon])
                listeners.pop(daemon).close()
            elif daemon.updaters or daemon.strgps:
                daemon.update()


def main(argv):
    if argv[:1] == ["--many"]:
        return serve_many(argv[1])
    ports, config, log, pidfile, foreground, auth, name = [], None, None, None, False, "none", None
    config_log = None
    args = list(argv)
    while args:
        option = args.pop(0)
        if option == "-x":
            parts = args.pop(0).split(":")
            ports.append((parts[2] if len(parts) > 2 else "0.0.0.0", int(parts[1])))
        elif option == "-c":
            config = args.pop(0)
        elif option == "-l":
            log = args.pop(0)
        elif option == "-r":
            pidfile = args.pop(0)
        elif option == "-F":
            foreground = True
        elif option == "-a":
            auth = args.pop(0)
        elif option == "-n":
            name = args.pop(0)
        elif option == "-L":
            config_log = args.pop(0)
        elif option in ("-A", "-v", "-m", "-P", "-H"):
            args.pop(0)
    daemon = Daemon(name or socket.gethostname(), auth, log)
    commands = []
    if config:
        with open(config) as stream:
            for number, line in enumerate(stream, 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    commands.append((number, parse_line(line)))
    for _number, (verb, attrs) in commands:
        if verb == "option" and "--log_config" in attrs:
            config_log = list(attrs)[list(attrs).index("--log_config") + 1]
        if verb == "listen":
            ports.append((attrs.get("host") or "0.0.0.0", int(attrs["port"])))
            daemon.listening.add((attrs.get("xprt", "sock"), int(attrs["port"])))
    if not ports:
        sys.stderr.write("ldmsd: no listener (-x or listen)\n")
        return 1
    if not foreground and os.fork():
        return 0
    daemon.listening.update(("sock", port) for _host, port in ports)
    if config_log:
        daemon.set_config_log(config_log)
    for number, (verb, attrs) in commands:
        if verb == "listen":
            if attrs.get("auth"):
                if attrs["auth"] not in daemon.auth_domains:
                    daemon.log("ERROR: line %d: Authentication domain '%s' not found." % (number, attrs["auth"]))
                    return 2
                daemon.auth = daemon.auth_domains[attrs["auth"]]["plugin"]  # what a client must speak
            continue
        errcode, message = daemon.handle(verb, attrs)
        if errcode:
            daemon.log("ERROR: line %d: %s" % (number, message))
            return errcode
    try:
        serve(daemon, [("127.0.0.1" if host in ("localhost",) else host, port) for host, port in ports])
        daemon.serve_listener = lambda host, port: serve(daemon, [(host, port)])
    except OSError as exc:
        daemon.log("ERROR: listening: %s" % exc)
        return 7
    if pidfile:
        with open(pidfile, "w") as stream:
            stream.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    while daemon.exit_code is None:
        time.sleep(0.25)
        daemon.update()
    return daemon.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
