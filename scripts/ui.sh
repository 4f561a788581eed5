#!/usr/bin/env bash
# Open the Dagster UI on the quickstart's instance: the same DAGSTER_HOME and data folder that
# scripts/quickstart.sh used, so its runs, partitions and materialisations are all there.
# Prints the address once the UI answers; Ctrl-C stops it.
#
#   HAVEN_UI_HOST (default 127.0.0.1) and HAVEN_UI_PORT (default 3000) choose where it listens.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv

export HAVEN_DATA_DIR="${HAVEN_DATA_DIR:-$PWD/.haven}"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
if [ ! -f "$HAVEN_DATA_DIR/haven.db" ] && [ -z "${HAVEN_DATABASE_URL:-}" ]; then
    echo "note: no database in $HAVEN_DATA_DIR yet; run ./scripts/quickstart.sh first to have something to see" >&2
fi

host="${HAVEN_UI_HOST:-127.0.0.1}"
port="${HAVEN_UI_PORT:-3000}"
address="http://$host:$port"
echo "starting the Dagster UI on the instance in $DAGSTER_HOME ..."

# Job control on, so the webserver gets its own process group: a background process of a script
# otherwise ignores SIGINT, and stopping the group also stops the code-location server it starts.
set -m
"$VENV/bin/dagster-webserver" -w workspace.yaml -h "$host" -p "$port" &
web=$!
stop() { kill -TERM -- "-$web" 2>/dev/null || true; wait "$web" 2>/dev/null || true; }
trap 'stop; exit 130' INT TERM

# Wait (bounded) until the UI answers, then say where it is.
for _ in $(seq 1 240); do
    if ! kill -0 "$web" 2>/dev/null; then
        wait "$web" || true
        echo "dagster-webserver exited before answering on $address (is the port taken? set HAVEN_UI_PORT)" >&2
        exit 1
    fi
    if "$VENV/bin/python" - "$address/server_info" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
PY
    then
        echo ""
        echo "Dagster UI: $address   (the catalogue graph: $address/asset-groups/catalogue ; Ctrl-C stops it)"
        break
    fi
    sleep 0.5
done
wait "$web"
