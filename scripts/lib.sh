# Shared by the scripts in this folder; sourced, never run.
# Three virtual environments, each from one pinned requirements file:
#   .venv         tests and linters: homeassistant 2026.10.4 + its pytest harness (requirements/test.txt)
#   .venv-oldest  tests on the oldest supported homeassistant, 2025.10.0 + its harness (requirements/test-oldest.txt)
#   .venv-ha      development instance: the newest homeassistant (requirements/develop.txt)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

venv_dir() {
    case "$1" in
        test) echo "$ROOT/.venv" ;;
        oldest) echo "$ROOT/.venv-oldest" ;;
        develop) echo "$ROOT/.venv-ha" ;;
        *) echo "unknown environment: $1" >&2; return 2 ;;
    esac
}

# A fingerprint of everything that decides an environment's content: when it changes, setup runs again.
env_fingerprint() {
    cat "$ROOT/scripts/setup" "$ROOT/scripts/lib.sh" "$ROOT/scripts/ha_requirements.py" "$ROOT/scripts/python-from-debian" \
        "$ROOT/config/configuration.yaml" "$ROOT"/requirements/*.txt | sha256sum | cut -d' ' -f1
}

env_is_current() {
    local stamp
    stamp="$(venv_dir "$1")/.enovates-setup"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(env_fingerprint)" ]
}

# Run scripts/setup for an environment only when it is missing or older than the pins.
ensure_env() {
    env_is_current "$1" || "$ROOT/scripts/setup" "$1"
}
