#!/usr/bin/env bash
# The README's second command: lint, type-check and run the whole test suite.
# Extra arguments go to pytest (e.g. -k snmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
echo "== ruff" && .venv/bin/ruff check fieldagent drivers tests bench
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && exec .venv/bin/pytest "$@"
