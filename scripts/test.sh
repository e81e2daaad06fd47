#!/usr/bin/env bash
# The README's second command: lint, type-check and run the whole test suite.
# Extra arguments go to pytest (e.g. -k snmp, or -n 0 for one process).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
setup_browser=1 # tests/web/ drive a real browser
source "$root/scripts/setup.sh"
cd "$root"
echo "== ruff" && .venv/bin/ruff check fieldagent drivers tests bench
echo "== mypy" && .venv/bin/mypy
# Two workers: most tests wait on sockets and processes, so the suite takes half the time
# on two cores. Tests use free ports and their own folders; `-n 0` runs them in one process.
echo "== pytest" && exec .venv/bin/pytest -n 2 "$@"
