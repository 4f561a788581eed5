#!/usr/bin/env bash
# Run the whole test suite. Works on a fresh clone: creates .venv and installs what the tests need.
# Extra arguments go to pytest (e.g. scripts/test.sh -k ledger). With no arguments it runs everything,
# the slow end-to-end tests included; scripts/test.sh -m "not slow" is the quick loop while working.
#
# The tests run in parallel (pytest-xdist): HAVEN_TEST_WORKERS processes (default 4, measured on a
# two-core machine: most long tests wait on processes, servers and PostgreSQL rather than compute),
# scheduled by file (--dist loadfile: a module's tests share one worker and its module fixtures, e.g.
# the browser tests' one webserver) in collection order (--no-loadscope-reorder), which the conftest
# sorts longest first. Not loadgroup: with pytest 9.2 it silently stops grouping (pytest-xdist #1386).
# Run serially with HAVEN_TEST_WORKERS=0, or pass your own -n / --numprocesses / --dist, or
# -p no:xdist, or --pdb / --trace: any of those and this script adds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv
parallel=(-n "${HAVEN_TEST_WORKERS:-4}" --dist loadfile --no-loadscope-reorder)
previous=""
for arg in "$@"; do
    case "$arg" in
        -n | -n* | --numprocesses | --numprocesses=* | --dist | --dist=* | -pno:xdist | --pdb | --trace) parallel=() ;;
        no:xdist) [ "$previous" = "-p" ] && parallel=() ;;
    esac
    previous="$arg"
done
if [ "${HAVEN_TEST_WORKERS:-4}" = "0" ]; then
    parallel=()
fi
exec "$VENV/bin/python" -m pytest ${parallel[@]+"${parallel[@]}"} "$@"
