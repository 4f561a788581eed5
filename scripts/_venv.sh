# Shared by the scripts: make .venv (Python 3.11+) and install the project with its dev extras.
VENV="${HAVEN_VENV:-.venv}"

ensure_venv() {
    local stamp="$VENV/.installed"
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(command -v python3.11 || command -v python3)"
        "$py" -m venv "$VENV"
    fi
    # Reinstall when pyproject.toml or the lock changed since the last install. The lock pins every
    # package (constraints), so each machine and CI install the same, audited set.
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -c requirements.lock -e '.[dev]'
        touch "$stamp"
    fi
}
