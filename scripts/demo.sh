#!/usr/bin/env bash
# The README's first command: a simulated station, a private broker, the agent
# and a live view of what it publishes.  Extra arguments go to `fieldagent demo`
# (e.g. --duration 60).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
exec "$root/.venv/bin/fieldagent" demo "$@"
