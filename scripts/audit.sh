#!/usr/bin/env bash
# Audit the installed dependency set (.venv: the project and its dev extras) for known vulnerabilities.
#
# pip-audit reads each installed distribution and asks PyPI's JSON API (`-s pypi`, which serves the
# PyPA advisory database) about that exact version: CI needs network to PyPI only, no OSV access.
# The project itself is installed editable and is not on PyPI, so it is skipped.
# Exit status: 0 when nothing is known to be vulnerable, 1 when something is (or the audit could not
# collect a dependency: --strict). Extra arguments go to pip-audit, e.g.:
#   scripts/audit.sh --format json -o audit.json
#   scripts/audit.sh --ignore-vuln GHSA-xxxx-xxxx-xxxx   # only with a reason written in the commit
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv
# Under CI the advisory service may be out of reach (only the package index is): then every package
# is reported "could not be audited", the log says so in a banner that cannot be missed, and only a
# known vulnerability fails the run: a CI pass then means NOTHING WAS AUDITED for those packages.
# Elsewhere --strict also fails on a package that could not be checked. There is no offline fallback:
# pip-audit's advisory sources (-s pypi, osv, esms) are all online services, and --cache-dir only
# caches PyPI's HTTP answers, it holds no advisory database of its own.
strict=(--strict)
[ "${CI:-}" = "true" ] && strict=()
set +e
"$VENV/bin/python" -m pip_audit \
    --vulnerability-service pypi \
    --skip-editable \
    "${strict[@]}" \
    --progress-spinner off \
    --desc off \
    "$@" 2>&1 | tee /tmp/haven-audit.$$
status=${PIPESTATUS[0]}
set -e
unaudited=$(grep -c "could not be audited" /tmp/haven-audit.$$ || true)
rm -f /tmp/haven-audit.$$
if [ "$unaudited" -gt 0 ]; then
    echo "audit: $unaudited package(s) could not be checked (PyPI's advisory API did not answer from here)" >&2
    if [ "$status" -eq 0 ]; then
        # Passing anyway (CI, no --strict): say it where nobody can read past it.
        {
            echo "################################################################################"
            echo "##  DEPENDENCY AUDIT NOT DONE: $unaudited package(s) were NOT checked for known"
            echo "##  vulnerabilities (the advisory service was unreachable). This run passes the"
            echo "##  audit step with those packages unchecked; rerun scripts/audit.sh where PyPI's"
            echo "##  JSON API answers before trusting this build."
            echo "################################################################################"
        } >&2
    fi
fi
exit "$status"
