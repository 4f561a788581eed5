#!/usr/bin/env bash
# Set everything up on a fresh clone and run the main job on the embedded defaults:
# SQLite, the local renderer, a local image folder, Shopify dry run. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
say "quickstart: SQLite, the local renderer, a local image folder and a Shopify dry run (nothing leaves this machine)"
ensure_venv

export HAVEN_DATA_DIR="${HAVEN_DATA_DIR:-$PWD/.haven}"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
# dagster.yaml is read from $DAGSTER_HOME, not from the project root.
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"

# The same settings object the CLI and the Dagster runs use: print it (secrets masked) and stop
# here, naming the variable, if one is bad.
say "checking the settings"
"$VENV/bin/python" -m haven_pipelines.settings
say "creating or migrating the database"
"$VENV/bin/haven" db upgrade
say "loading the demo user and ${HAVEN_DEMO_DESIGNS:-3} approved design(s)"
"$VENV/bin/haven" demo --load --designs "${HAVEN_DEMO_DESIGNS:-3}"
say "running the pipeline: designs -> mockups -> products -> Shopify listings (dry run)"
exec "$VENV/bin/haven" pipeline run "$@"
