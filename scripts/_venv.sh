# Shared by the scripts: make .venv (Python 3.11+) and install the project with its dev extras.
VENV="${HAVEN_VENV:-.venv}"

# A progress line on stderr, so that a person sees what a long step is doing.
say() {
    printf '==> %s\n' "$*" >&2
}

# pip's output in a few lines: every 20th package resolved, then the install itself.
_pip_progress() {
    awk '
        /^Collecting / { n++; if (n % 20 == 1) { printf "    %d package(s) resolved so far (%s)\n", n, $2; fflush() } }
        /^Installing collected packages/ { printf "    installing %d package(s): the longest step, about a minute\n", n; fflush() }
        /^Successfully installed/ { print "    installed"; fflush() }
    ' >&2
}

ensure_venv() {
    local stamp="$VENV/.installed"
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(command -v python3.11 || command -v python3)"
        say "creating the virtual environment $VENV with $py"
        "$py" -m venv "$VENV"
    fi
    # Reinstall when pyproject.toml or the lock changed since the last install. The lock pins every
    # package (constraints), so each machine and CI install the same, audited set.
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
        local log="$VENV/install.log"
        say "installing haven-pipelines and its locked dependencies into $VENV (2-3 minutes the first time; full log in $log)"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        # pip's own status decides (PIPESTATUS), with or without the caller's pipefail.
        if "$VENV/bin/python" -m pip install --progress-bar off -c requirements.lock -e '.[dev]' 2>&1 \
                | tee "$log" | _pip_progress; [ "${PIPESTATUS[0]}" -ne 0 ]; then
            say "the install failed; the end of $log:"
            tail -n 20 "$log" >&2
            return 1
        fi
        touch "$stamp"
        say "installed"
    fi
}
