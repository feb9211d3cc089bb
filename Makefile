# Enterprise Brain. Quick start: `make run`, `make test`. Everything is
# installed from scratch into git-ignored folders: .venv (pinned Python
# packages), .jars (Maven-resolved JVM artifacts), .state (broker, lake, Airflow).

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
BRAIN := $(BIN)/brain
UV_VERSION := 0.13.8
PYTEST_ARGS ?=

export GX_ANALYTICS_ENABLED := False
export PYTHONUNBUFFERED := 1

.PHONY: help setup jars web browser mqtt proto bench-smoke run test test-fast lint bench bench-quick airflow doctor cluster cluster-down test-cluster postgres clean distclean lock

help:
	@echo "make run        set up, start Kafka and the warm Spark service, then brain demo: a fresh window of all four industries' data, some bad,"
	@echo "                through one cycle Kafka -> gold; prints records, quarantine, reconcile, KPIs per site"
	@echo "make test       set up, start Kafka, run every test (unit, integration, e2e), stop Kafka"
	@echo "make test-fast  the same without the slow end-to-end DAG tests"
	@echo "make bench-quick  benchmarks against baselines in one run (1 M records, ~20 min on 2 cores); make bench: 10 M"
	@echo "make doctor     check every part of the stack (brain doctor)"
	@echo "make airflow    Airflow UI on http://127.0.0.1:8080 (airflow standalone)"
	@echo "make cluster    the loopback cluster: 3 Kafka brokers, Spark master + 2 workers, Connect, s3proxy (docs/cluster.md);"
	@echo "                and Airflow's scheduler on PostgreSQL (UI http://127.0.0.1:28280);"
	@echo "                use it with BRAIN_ENV=cluster-local; make cluster-down stops it"
	@echo "make test-cluster  the cluster tests (-m cluster): Airflow's real scheduler runs brain_energy"
	@echo "make lint       ruff"
	@echo "make clean      remove broker data, lake and Airflow state (.state)"
	@echo "make distclean  also remove .venv and .jars"

setup: $(VENV)/.installed jars web

$(VENV)/.installed: setup.cfg constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python -q -c constraints.txt -e ".[dev]"
	@touch $@

jars: .jars/spark/.resolved .jars/kafka/.resolved .jars/s3a/.resolved .jars/s3proxy/.resolved .jars/localfs/brain-localfs.jar

# Our own few classes (jvm/localfs): Hadoop's local file system without a `chmod` or `readlink`
# child process per call (brain.spark, spark.local_fs_without_forks). Compiled against the
# Hadoop client pyspark ships, so the venv comes first.
LOCALFS_SRC := $(wildcard jvm/localfs/src/org/enterprisebrain/fs/*.java)
.jars/localfs/brain-localfs.jar: $(LOCALFS_SRC) $(VENV)/.installed
	@rm -rf .jars/localfs && mkdir -p .jars/localfs/classes
	javac -nowarn -Xlint:-deprecation -d .jars/localfs/classes \
	  -cp "$$($(BIN)/python -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars", "*"))')" \
	  $(LOCALFS_SRC)
	jar cf $@ -C .jars/localfs/classes . && rm -rf .jars/localfs/classes

# Data Docs offline: GX's pages load jQuery, Bootstrap, bootstrap-table... from
# CDNs. The same versions (web/package-lock.json) go into git-ignored
# web/node_modules; brain.quality.docs_assets copies them next to Data Docs.
web: web/node_modules/.installed

web/node_modules/.installed: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "make web: npm not found (Debian: apt-get install npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

# Headless Chromium for the Data Docs and dashboard screenshot tests, from
# Debian's packages (the only browser source this machine reaches).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	   (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null)); } \
	  || { echo "make browser: cannot install chromium (need root and Debian's packages); set CHROMIUM=/path"; exit 1; }

# The MQTT broker behind `brain mqtt start` and the bridge tests, from Debian's packages.
MOSQUITTO ?= /usr/sbin/mosquitto
mqtt:
	@test -x $(MOSQUITTO) && command -v mosquitto_passwd >/dev/null || { command -v apt-get >/dev/null && \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >/dev/null || \
	   (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >/dev/null)); } \
	  || { echo "make mqtt: cannot install mosquitto (need root and Debian's packages); set MOSQUITTO=/path"; exit 1; }

# brain/edge/sparkplug_b_pb2.py is generated from brain/edge/sparkplug_b.proto and
# committed, so running needs only protobuf. grpcio-tools (which bundles protoc) cannot
# share .venv: every release that accepts protobuf 7 needs a newer setuptools than the
# pinned one, so it gets a throw-away venv of its own under .state/tools.
GRPCIO_TOOLS_VERSION := 1.85.1
PROTOC_VENV := .state/tools/protoc
proto: $(VENV)/.installed
	@test -x $(PROTOC_VENV)/bin/python || $(BIN)/uv venv -q --python $(BIN)/python $(PROTOC_VENV)
	$(BIN)/uv pip install -q --python $(PROTOC_VENV)/bin/python grpcio-tools==$(GRPCIO_TOOLS_VERSION) \
	  $$(grep '^protobuf==' constraints.txt)
	$(PROTOC_VENV)/bin/python -m grpc_tools.protoc -Ibrain/edge --python_out=brain/edge brain/edge/sparkplug_b.proto

.jars/%/.resolved: jvm/%/pom.xml
	@rm -rf .jars/$*
	mvn -q -B -Dstyle.color=never -f jvm/$*/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/.jars/$*
	@touch $@

# brain demo: simulate the newest window of time the lake does not hold yet (so a rerun adds fresh data),
# one pipeline cycle for every industry, reconcile, dashboard, and a short report (README's quick start).
run: setup
	$(BRAIN) kafka start
	$(BRAIN) spark start
	$(BRAIN) demo

# The tests start their own broker (tests/conftest.py: ports 19092/19093,
# data in .state/test; shared by the xdist workers, stopped below), the Connect tests the warm
# Spark service the same way (port 19102, `spark_service` fixture), and the edge tests their own
# mosquitto (port 11883, BRAIN_TEST_MQTT_PORT); the stops below catch brokers
# left behind by an interrupted run.
TEST_BROKER_ENV := BRAIN__PATHS__STATE=.state/test BRAIN__KAFKA__EMBEDDED__PORT=19092 \
	BRAIN__KAFKA__EMBEDDED__CONTROLLER_PORT=19093 BRAIN__KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:19092

# Two pytest-xdist workers, a test file each at a time (a module's fixtures stay in one process):
# much of a test's time is waiting (Kafka, Delta commits, subprocesses, Airflow), which the other
# worker fills. TEST_WORKERS=1 runs them one by one in this process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

test: setup browser mqtt
	@set +e; $(BIN)/pytest $(XDIST) $(PYTEST_ARGS); rc=$$?; $(TEST_BROKER_ENV) $(BRAIN) kafka stop >/dev/null; \
	  $(TEST_BROKER_ENV) BRAIN__SPARK_CONNECT__PORT=19102 $(BRAIN) spark stop >/dev/null; \
	  $(TEST_BROKER_ENV) BRAIN__MQTT__PORT=$${BRAIN_TEST_MQTT_PORT:-11883} $(BRAIN) mqtt stop >/dev/null; exit $$rc

test-fast: PYTEST_ARGS += -m "not e2e and not slow"
test-fast: test

doctor: setup
	$(BRAIN) kafka start
	$(BRAIN) doctor

airflow: setup
	$(BRAIN) kafka start
	eval "$$($(BRAIN) airflow-env)" && PATH="$(CURDIR)/$(BIN):$$PATH" airflow standalone

# Debian's PostgreSQL server binaries for Airflow's metadata database (brain.ops.postgres runs
# its own cluster under .state; the system's service is not used).
PG_BIN ?= $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin/postgres)))
postgres:
	@test -n "$(PG_BIN)" || { command -v apt-get >/dev/null && \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || \
	   (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null)); } \
	  || { echo "make postgres: cannot install postgresql (need root and Debian's packages); set cluster.postgres.bin_dir"; exit 1; }

# The loopback cluster (docs/cluster.md); every other command reaches it with BRAIN_ENV=cluster-local.
cluster: setup postgres
	BRAIN_ENV=cluster-local $(BRAIN) cluster up

cluster-down:
	BRAIN_ENV=cluster-local $(BRAIN) cluster down

# Tests that start cluster components themselves (Airflow's services on PostgreSQL); the Kafka
# stop catches a test broker left behind by an interrupted run, as in `make test`.
test-cluster: setup postgres
	@set +e; $(BIN)/pytest -m cluster $(PYTEST_ARGS); rc=$$?; $(TEST_BROKER_ENV) $(BRAIN) kafka stop >/dev/null; exit $$rc

# Benchmarks: every figure measured side by side in one run (docs/benchmarks.md).
bench-quick: setup
	$(BIN)/python -m bench --mode quick

bench: setup
	$(BIN)/python -m bench --mode full

bench-smoke: setup
	$(BIN)/pytest -m bench tests/integration/test_bench_smoke.py

lint: setup
	$(BIN)/ruff check brain dags jobs tests bench

lock: $(VENV)/.installed
	$(BIN)/uv pip freeze --python $(BIN)/python --exclude-editable | grep -v '^enterprise-brain' > constraints.txt

clean:
	-@test -x $(BRAIN) && $(BRAIN) kafka stop
	-@test -x $(BRAIN) && $(BRAIN) mqtt stop
	-@test -x $(BRAIN) && BRAIN_ENV=cluster-local $(BRAIN) cluster down >/dev/null
	rm -rf .state reports spark-warehouse metastore_db derby.log

distclean: clean
	rm -rf $(VENV) .jars
