#!/bin/sh
# Entry point of the brain image (docker/Dockerfile): runs the given command (airflow ..., brain ...).
# The api-server is given AIRFLOW_ADMIN_PASSWORD: it is written into the passwords file
# SimpleAuthManager reads (mode 600), so Airflow neither generates nor prints one, as
# `brain cluster up` does on the loopback cluster (brain.ops.airflow_services.ensure_secrets).
set -e
if [ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ]; then
  : "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE is not set}"
  python - <<'PY'
import json, os
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
user = os.environ.get("AIRFLOW_ADMIN_USER", "admin")
os.makedirs(os.path.dirname(path), exist_ok=True)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump({user: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, f)
PY
fi
exec "$@"
