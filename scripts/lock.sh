#!/usr/bin/env bash
# Regenerate the hashed lock files from pyproject.toml:
#   requirements/runtime.lock  the agent's dependencies (what scripts/install.sh installs)
#   requirements/test.lock     the same plus the [test] extra (what scripts/setup.sh installs)
#   requirements/build.lock    what builds the project itself (pyproject's build-system), so
#                              the project is built without fetching unhashed build tools
# The bench extra (matplotlib, scripts/bench.sh) is not locked: it never runs at a station.
# A running station must not change behaviour because a dependency made a release: every
# version is pinned, with the hash of every file PyPI has for it (x86_64 and aarch64 wheels,
# the sdist), so `pip install --require-hashes` accepts nothing else.
#
#   scripts/lock.sh              keep the current pins, add what pyproject.toml gained
#   scripts/lock.sh --upgrade    move every pin to the newest release pyproject.toml allows
#   scripts/lock.sh --upgrade-package NAME [...]   move only these
#
# pip-tools runs in a throw-away virtualenv; only PyPI is asked (no local wheel folders or
# extra indexes), so the hashes are those every station will download.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
compile_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --upgrade) compile_args+=(--upgrade) ;;
        --upgrade-package) shift; compile_args+=(--upgrade-package "${1:?--upgrade-package needs a name}") ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "lock.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "lock.sh: run it with Python 3.11 (the oldest the project supports): PYTHON=python3.11 scripts/lock.sh" >&2
    exit 1
}

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_INDEX
echo "lock.sh: installing pip-tools into a throw-away virtualenv" >&2
"$python" -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install -q "pip-tools>=7.4,<8"

cd "$root"
common=(--quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url
        --no-emit-find-links --resolver=backtracking "${compile_args[@]}")
echo "lock.sh: requirements/runtime.lock" >&2
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" "$tools/venv/bin/pip-compile" "${common[@]}" \
    --output-file requirements/runtime.lock pyproject.toml
echo "lock.sh: requirements/test.lock (the runtime pins as constraints)" >&2
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" "$tools/venv/bin/pip-compile" "${common[@]}" \
    --extra test --constraint requirements/runtime.lock \
    --output-file requirements/test.lock pyproject.toml
echo "lock.sh: requirements/build.lock" >&2
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" "$tools/venv/bin/pip-compile" "${common[@]}" \
    --build-deps-for wheel --only-build-deps \
    --output-file requirements/build.lock pyproject.toml
# Every station must find a wheel with its hash: Debian 12 / Raspberry Pi OS 64-bit
# (glibc 2.36, Python 3.11) and Debian 13 (Python 3.13), on aarch64 and x86_64. Only wheels
# are accepted here: an sdist would mean a compiler (and Rust) on the Pi.
for machine in aarch64 x86_64; do
    platforms=()
    for tag in manylinux_2_36 manylinux_2_34 manylinux_2_28 manylinux_2_17 manylinux2014; do
        platforms+=(--platform "${tag}_$machine")
    done
    for version in 3.11 3.13; do
        echo "lock.sh: checking wheels for $machine, Python $version" >&2
        "$tools/venv/bin/pip" download -q --dest "$tools/wheels-$machine-$version" --no-deps \
            --only-binary=:all: --implementation cp --python-version "$version" "${platforms[@]}" \
            --require-hashes -r requirements/build.lock -r requirements/runtime.lock
    done
done
echo "lock.sh: done; commit requirements/*.lock and run scripts/setup.sh" >&2
