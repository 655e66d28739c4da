# hpc.ldms: set-up, demo and the whole test suite.
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
COLLECTIONS := $(VENV)/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1

.PHONY: venv install demo demo-stop test unit integration sanity lint render-check molecule molecule-cluster system-tools clean

# ldmsd under test: real LDMS when installed (LDMS_PREFIX, else /opt/ovis),
# the project's simulator otherwise. Molecule mounts it into its containers.
LDMS_PREFIX ?= $(shell test -x /opt/ovis/sbin/ldmsd && echo /opt/ovis)
SIMULATOR := $(CURDIR)/tests/simulator
ifeq ($(LDMS_PREFIX),)
MOLECULE_ENV := LDMS_PREFIX=$(SIMULATOR)/prefix MOLECULE_LDMS_PREFIX=/opt/hpc-ldms-simulator/prefix \
  MOLECULE_LDMS_MOUNT=$(SIMULATOR):/opt/hpc-ldms-simulator:ro
else
MOLECULE_ENV := LDMS_PREFIX=$(LDMS_PREFIX) MOLECULE_LDMS_PREFIX=/opt/ovis MOLECULE_LDMS_MOUNT=$(LDMS_PREFIX):/opt/ovis:ro
endif
# Podman needs the machine's tuned containers.conf (runc, cgroupfs, capped ulimits) where there is one.
SHARED_CONTAINERS_CONF := $(wildcard $(CURDIR)/../shared/podman/containers.conf)
ifneq ($(SHARED_CONTAINERS_CONF),)
export CONTAINERS_CONF := $(SHARED_CONTAINERS_CONF)
endif

# ansible.cfg finds the collection in this checkout through this link.
venv: $(STAMP)
	@mkdir -p $(VENV)/checkout/ansible_collections/hpc
	@ln -sfn ../../../.. $(VENV)/checkout/ansible_collections/hpc/ldms

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

install: venv
	rm -rf build
	$(BIN)/ansible-galaxy collection build --force --output-path build .
	$(BIN)/ansible-galaxy collection install --force --offline -p $(COLLECTIONS) build/hpc-ldms-*.tar.gz

# The demo: a live cluster on this host (examples/single-host.yaml, ports
# 20401-20421 on 127.0.0.1; DEMO_CLUSTER=<file> for others), real LDMS when
# installed, the simulator otherwise. It runs as a fresh shell in this
# checkout would: through ansible.cfg, not the installed copy.
DEMO_CLUSTER ?= examples/single-host.yaml
DEMO_DIR := $(CURDIR)/out/demo
DEMO_ENV := env -u ANSIBLE_COLLECTIONS_PATH LDMS_PREFIX=$(or $(LDMS_PREFIX),$(SIMULATOR)/prefix)

# Deploy batches protect a running cluster's data; a first start on one host needs none.
demo: venv
	$(DEMO_ENV) $(BIN)/ansible-playbook examples/demo.yml -i $(DEMO_CLUSTER) -e ldms_demo_dir=$(DEMO_DIR) \
	  -e ldms_sampler_batch=100% -e ldms_aggregator_batch=100%

demo-stop: venv
	$(DEMO_ENV) $(BIN)/ansible-playbook hpc.ldms.site -i $(DEMO_CLUSTER) -e ldms_demo_dir=$(DEMO_DIR) \
	  --tags deploy -e ldmsd_state=absent
	rm -rf $(DEMO_DIR)

sanity: venv
	VENV_BIN=$(BIN) tests/sanity/run.sh

lint: install
	$(BIN)/ansible-lint

# The render playbook of the installed collection on every bundled example, twice.
render-check: install
	set -e; for example in examples/*.yaml; do \
	  dest=$$(mktemp -d); \
	  $(BIN)/ansible-playbook hpc.ldms.render -i $$example -e ldms_config_dir=$$dest >/dev/null; \
	  $(BIN)/ansible-playbook hpc.ldms.render -i $$example -e ldms_config_dir=$$dest | grep -q 'changed=0' \
	    || { echo "second render of $$example changed files"; exit 1; }; \
	  echo "render-check: $$example rendered $$(ls $$dest | wc -l) files, idempotent"; rm -rf $$dest; \
	done

unit: venv
	$(BIN)/python -m pytest tests/unit -q

integration: venv system-tools
	$(BIN)/python -m pytest tests/integration tests/simulator -q

# The scenarios of make test: converge (site.yml), idempotence, verify.
# cluster is the multi-host bed (13 systemd containers, munge, cron reconcile).
MOLECULE_SCENARIOS := default process cluster
molecule: install system-tools
	for scenario in $(MOLECULE_SCENARIOS); do \
	  PATH=$(BIN):$$PATH $(MOLECULE_ENV) $(BIN)/molecule test -s $$scenario || exit 1; done

# The multi-host bed alone.
molecule-cluster: install system-tools
	PATH=$(BIN):$$PATH $(MOLECULE_ENV) $(BIN)/molecule test -s cluster

# Debian tools the tests drive: crontab (the schedule role), etcd (the HA
# state backend), podman, runc, debootstrap and docker.io (roles, molecule),
# Prometheus, promtool and node-exporter (the reconcile's metrics) and
# chromium (the status page). Installed when missing (needs root).
SYSTEM_TOOLS := crontab:cron etcd:etcd-server podman:podman runc:runc debootstrap:debootstrap dockerd:docker.io \
  prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter chromium:chromium \
  munged:munge
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null \
	    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi

# Pytest runs last so that its summary is the closing line.
test: system-tools sanity lint render-check molecule
	$(BIN)/python -m pytest -q

clean:
	rm -rf build out .venv
