#!/usr/bin/env bash
# Run the whole test suite. Works on a fresh clone: creates .venv and installs what the tests need.
# Extra arguments go to pytest (e.g. scripts/test.sh -k ledger). With no arguments it runs everything,
# the slow end-to-end tests included; scripts/test.sh -m "not slow" is the quick loop while working.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv
exec "$VENV/bin/python" -m pytest "$@"
