#!/usr/bin/env bash
# Set everything up on a fresh clone and run the main job on the embedded defaults:
# SQLite, the local renderer, a local image folder, Shopify dry run. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv

export HAVEN_DATA_DIR="${HAVEN_DATA_DIR:-$PWD/.haven}"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
# dagster.yaml is read from $DAGSTER_HOME, not from the project root.
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"

# The same settings object the CLI and the Dagster runs use: print it (secrets masked) and stop
# here, naming the variable, if one is bad.
"$VENV/bin/python" -m haven_pipelines.settings
"$VENV/bin/haven" db upgrade
"$VENV/bin/haven" demo --load --designs "${HAVEN_DEMO_DESIGNS:-3}"
exec "$VENV/bin/haven" pipeline run "$@"
