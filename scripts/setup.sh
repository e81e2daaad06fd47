#!/usr/bin/env bash
# Prepare this checkout to run: system packages (when missing), a virtualenv in
# .venv with the project and its test tools.  Safe to run again: it only does
# what is not done yet.  Sourced by demo.sh and test.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v snmpget >/dev/null 2>&1 || need_apt+=(snmp)
# The web page's browser tests (tests/web/) drive Debian's chromium headless: only the test
# command (test.sh sets setup_browser=1) needs it, not the demo.
if [ "${setup_browser:-0}" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${need_apt[*]} (apt-get)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp="$venv/.installed"
locks=("$root/requirements/build.lock" "$root/requirements/runtime.lock" "$root/requirements/test.lock")
if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating virtualenv .venv" >&2
    python3 -m venv "$venv"
fi
stale=0
[ -f "$stamp" ] || stale=1
for input in "$root/pyproject.toml" "${locks[@]}"; do
    [ "$input" -nt "$stamp" ] && stale=1
done
if [ "$stale" -eq 1 ]; then
    # Exactly the locked versions, each file checked against its hash (scripts/lock.sh
    # makes the locks); the project itself on top, built with the locked setuptools.
    echo "setup: installing the locked dependencies and fieldagent into .venv" >&2
    args=()
    for lock in "${locks[@]}"; do args+=(-r "$lock"); done
    "$venv/bin/python" -m pip install -q --require-hashes "${args[@]}"
    # setuptools talks a lot about editable installs: its words only when it fails.
    if ! built=$("$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$root" 2>&1); then
        echo "$built" >&2
        exit 1
    fi
    touch "$stamp"
fi
