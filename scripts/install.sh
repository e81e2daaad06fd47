#!/usr/bin/env bash
# Install, upgrade or remove fieldagent on a Debian / Raspberry Pi OS box (arm64 or x86_64).
#
#   sudo ./scripts/install.sh               install: user, virtualenv, config, state, service
#   sudo ./scripts/install.sh --upgrade     a new virtualenv from this tree, checked, then used
#   sudo ./scripts/install.sh --rollback    go back to the previous virtualenv
#   sudo ./scripts/install.sh --uninstall   remove the program and the service, keep config
#                                           (/etc/fieldagent) and state (/var/lib/fieldagent)
#   sudo ./scripts/install.sh --purge       the same, and remove config and state too
#
# Options:
#   --start           start (or restart) the service once installed
#   --root DIR        install under DIR instead of / (a test tree, an image being built):
#                     no system user is created, apt-get and systemctl start are not run
#   --wheelhouse DIR  take the locked wheels from DIR only (no network)
#   -h, --help        this text
#
# Layout: /opt/fieldagent/venv-VERSION-TIME (one virtualenv per install, built from
# requirements/runtime.lock with every hash checked), /opt/fieldagent/current -> the one in
# use (the service runs /opt/fieldagent/current/bin/fieldagent), /opt/fieldagent/previous ->
# the one before it (a rollback swaps the two links). /etc/fieldagent/station.toml is
# written once from config/station.example.toml and never replaced. Running the script
# twice is safe. FIELDAGENT_PYTHON picks the Python (default: /usr/bin/python3).
set -euo pipefail
# Whatever root's own umask, the service user must be able to read the virtualenv.
umask 022

given=("$@")
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=/
action=install
start=0
wheelhouse=""

say() { printf 'fieldagent install: %s\n' "$*"; }
warn() { printf 'fieldagent install: warning: %s\n' "$*" >&2; }
fail() {
    printf 'fieldagent install: error: %s\n' "$*" >&2
    exit 1
}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --upgrade) action=upgrade ;;
        --rollback) action=rollback ;;
        --uninstall) [ "$action" = purge ] || action=uninstall ;;
        --purge) action=purge ;;
        --start) start=1 ;;
        --root) shift; root=${1:?--root needs a folder} ;;
        --root=*) root=${1#--root=} ;;
        --wheelhouse) shift; wheelhouse=${1:?--wheelhouse needs a folder} ;;
        --wheelhouse=*) wheelhouse=${1#--wheelhouse=} ;;
        -h | --help) usage; exit 0 ;;
        *) echo "fieldagent install: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# ---------------------------------------------------------------- where things go
case "$root" in /*) ;; *) root="$(pwd)/$root" ;; esac
R=${root%/}
live=0 # 1: this machine itself (users, apt-get, a running systemd may be touched)
[ -z "$R" ] && live=1
opt=$R/opt/fieldagent
etc=$R/etc/fieldagent
state=$R/var/lib/fieldagent
units=$R/etc/systemd/system
unit=$units/fieldagent.service
command_link=$R/usr/local/bin/fieldagent
station=$etc/station.toml
user=fieldagent

# The service runs as $user: its virtualenv must sit on a Python every user can run, the
# distribution's (not one under a home folder, as pyenv's is).
python=${FIELDAGENT_PYTHON:-}
if [ -z "$python" ]; then
    python=python3
    [ "$live" -eq 1 ] && [ -x /usr/bin/python3 ] && python=/usr/bin/python3
fi

systemd_running() { [ "$live" -eq 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- refusals
if [ "$live" -eq 1 ] && ! is_root; then
    fail "run it as root: sudo $0 ${given[*]}"
fi
if [ "$live" -eq 0 ] && [ ! -d "$R" ]; then
    fail "--root $root: no such folder"
fi

debian_like() {
    [ -r /etc/os-release ] || return 1
    # shellcheck disable=SC1091
    (. /etc/os-release && case " ${ID:-} ${ID_LIKE:-} " in *" debian "*) exit 0 ;; *) exit 1 ;; esac)
}
if ! debian_like; then
    found=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}") || echo unknown)
    fail "this installer is for Debian and Raspberry Pi OS; this system is: $found"
fi

check_machine() {
    case "$(uname -m)" in
        x86_64 | aarch64) ;;
        armv7l | armv6l) fail "32-bit ARM ($(uname -m)) is not supported: install the 64-bit Raspberry Pi OS (arm64)" ;;
        *) fail "this machine ($(uname -m)) is not supported: arm64 (aarch64) or x86_64 only" ;;
    esac
}

apt_install() {
    [ "$live" -eq 1 ] || fail "$1 is missing; with --root nothing is installed by apt-get: run apt-get install $*"
    say "installing $* (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

check_python() {
    command -v "$python" >/dev/null || apt_install python3 python3-venv
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        fail "Python 3.11 or newer is needed; $python is $("$python" -c 'import platform; print(platform.python_version())') (Debian 12 / Raspberry Pi OS bookworm have 3.11)"
    "$python" -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
}

# ---------------------------------------------------------------- pieces
# The folder a link points at (relative links inside $opt), empty when absent or dangling.
target_of() {
    local link=$opt/$1
    if [ -L "$link" ] && [ -d "$link/" ]; then basename "$(readlink "$link")"; fi
}

# Replace link $1 with one pointing at $2 in one rename: the service never sees it missing.
point() {
    ln -sfn "$2" "$opt/.$1.new"
    mv -T "$opt/.$1.new" "$opt/$1"
}

ensure_user() {
    if [ "$live" -eq 0 ]; then
        return
    fi
    if ! getent passwd "$user" >/dev/null; then
        say "creating the system user $user"
        useradd --system --user-group --home-dir /var/lib/fieldagent --no-create-home \
            --shell /usr/sbin/nologin --comment "fieldagent station agent" "$user"
    fi
    if ! id -nG "$user" | tr ' ' '\n' | grep -qx dialout; then
        say "adding $user to the group dialout (serial ports)"
        usermod -a -G dialout "$user"
    fi
}

# chown only where it can mean something: as root, to an account this system has.
own() {
    local owner=$1
    shift
    if is_root && getent passwd "${owner%%:*}" >/dev/null && getent group "${owner##*:}" >/dev/null; then
        chown "$owner" "$@"
    fi
}
own_group() {
    if is_root && getent group "$user" >/dev/null; then chgrp "$user" "$@"; fi
}

ensure_dirs() {
    install -d -m 0755 "$opt" "$units"
    install -d -m 0750 "$etc" "$state"
    own_group "$etc"
    own "$user:$user" "$state"
    if [ "$live" -eq 0 ] && ! getent group "$user" >/dev/null; then
        say "no $user account on this system: $etc and $state keep their owner (root)"
    fi
    if [ -e "$station" ]; then
        say "keeping $station (your station file is never replaced)"
    else
        say "writing $station from config/station.example.toml: edit it for this station"
        install -m 0640 "$src/config/station.example.toml" "$station"
        own_group "$station"
    fi
}

version_of_source() {
    "$python" -c 'import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(tomllib.load(f)["project"]["version"])' "$src/pyproject.toml"
}

new_venv_name() {
    local base name n=1
    base="venv-$(version_of_source)-$(date -u +%Y%m%dT%H%M%SZ)"
    name=$base
    while [ -e "$opt/$name" ]; do
        n=$((n + 1))
        name="$base-$n"
    done
    echo "$name"
}

# Run a command quietly; on failure show what it said and stop with one line.
quiet() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        tail -n 25 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# Build a virtualenv in $opt/$1: the locked dependencies (every hash checked), then the
# project from a clean copy of this tree (a stale build/ folder never leaks into it).
build_venv() {
    local venv=$opt/$1 pip_source=() copy
    [ -n "$wheelhouse" ] && pip_source=(--no-index --find-links "$wheelhouse")
    say "building $venv (locked dependencies from requirements/runtime.lock)"
    quiet "$python" -m venv "$venv" || return 1
    quiet "$venv/bin/python" -m pip install --disable-pip-version-check -q \
        "${pip_source[@]}" --require-hashes \
        -r "$src/requirements/build.lock" -r "$src/requirements/runtime.lock" || return 1
    copy=$(mktemp -d)
    cp -r "$src/pyproject.toml" "$src/README.md" "$src/fieldagent" "$src/drivers" "$copy/"
    install -d "$copy/config"
    cp -r "$src/config/checklists" "$copy/config/"
    find "$copy" -name __pycache__ -prune -exec rm -rf {} +
    if ! quiet "$venv/bin/python" -m pip install --disable-pip-version-check -q \
        "${pip_source[@]}" --no-deps --no-build-isolation "$copy"; then
        rm -rf "$copy"
        return 1
    fi
    rm -rf "$copy"
    install -m 0644 "$src/README.md" "$venv/README.md"
}

# The new virtualenv must run, load every driver and accept the station file the running
# one accepts. Sets $problem to one line saying what failed.
problem=""
self_check() {
    local venv=$opt/$1 old=$2 shown
    if ! shown=$("$venv/bin/fieldagent" --version 2>&1); then
        problem="'fieldagent --version' failed: $(printf '%s' "$shown" | tail -n 1)"
        return 1
    fi
    say "self-check: $shown"
    if [ "$live" -eq 1 ] && ! shown=$(runuser -u "$user" -- "$venv/bin/fieldagent" --version 2>&1); then
        problem="'fieldagent --version' failed as user $user: $(printf '%s' "$shown" | tail -n 1)"
        return 1
    fi
    if ! shown=$("$venv/bin/python" -I -c 'import sys
from drivers import REGISTRY
for problem in REGISTRY.problems:
    print(*problem.lines, sep="\n")
sys.exit(1 if REGISTRY.problems else 0)' 2>&1); then
        problem="a driver cannot be loaded: $(printf '%s' "$shown" | tail -n 1)"
        return 1
    fi
    if ! "$venv/bin/fieldagent" drivers >/dev/null 2>&1; then
        problem="'fieldagent drivers' failed"
        return 1
    fi
    say "self-check: every driver loads"
    [ -e "$station" ] || return 0
    if "$venv/bin/fieldagent" check-config -c "$station" >/dev/null 2>&1; then
        say "self-check: $station is accepted"
        return 0
    fi
    if [ -n "$old" ] && "$opt/$old/bin/fieldagent" check-config -c "$station" >/dev/null 2>&1; then
        "$venv/bin/fieldagent" check-config -c "$station" >&2 || true
        problem="the new version refuses $station, which the running one accepts (problems above)"
        return 1
    fi
    warn "$station is not ready yet (fix what check-config lists):"
    "$venv/bin/fieldagent" check-config -c "$station" >&2 || true
    return 0
}

install_unit() {
    local before=""
    [ -f "$unit" ] && before=$(cat "$unit")
    install -m 0644 "$src/systemd/fieldagent.service" "$unit"
    grep -q '^ExecStart=/opt/fieldagent/current/bin/fieldagent ' "$unit" ||
        fail "systemd/fieldagent.service does not start /opt/fieldagent/current/bin/fieldagent"
    if systemd_running; then
        [ "$before" = "$(cat "$unit")" ] || systemctl daemon-reload
        systemctl enable --quiet fieldagent.service
    elif command -v systemctl >/dev/null; then
        systemctl --root="$root" enable --quiet fieldagent.service 2>/dev/null
    else
        install -d -m 0755 "$units/multi-user.target.wants"
        ln -sfn /etc/systemd/system/fieldagent.service "$units/multi-user.target.wants/fieldagent.service"
    fi
    say "service installed and enabled: $unit"
}

# `fieldagent` on the PATH of every user (and of sudo), following `current`.
link_command() {
    install -d -m 0755 "$(dirname "$command_link")"
    ln -sfn /opt/fieldagent/current/bin/fieldagent "$command_link"
}

prune() {
    local keep_current keep_previous venv
    keep_current=$(target_of current)
    keep_previous=$(target_of previous)
    for venv in "$opt"/venv-*; do
        [ -d "$venv" ] || continue
        case "$(basename "$venv")" in
            "$keep_current" | "$keep_previous") ;;
            *) say "removing the old $venv"; rm -rf "$venv" ;;
        esac
    done
}

# (Re)start the service when it runs or --start asks. The unit is Type=notify: `systemctl
# restart` returns once the agent said READY=1, or fails. After an upgrade ($1 the version
# before, $2 the new one) a failed start goes back to the version before.
restart_if_running() {
    local before=${1:-} after=${2:-}
    if ! systemd_running; then
        return
    fi
    if [ "$start" -eq 0 ] && ! systemctl is-active --quiet fieldagent.service; then
        return
    fi
    say "starting the service on $(target_of current)"
    if systemctl restart fieldagent.service; then
        say "the service is running: systemctl status fieldagent"
        return
    fi
    if [ -n "$before" ] && [ -n "$after" ]; then
        point current "$before"
        point previous "$after"
        systemctl restart fieldagent.service || true
        fail "the service did not start on $after; back on $before (journalctl -u fieldagent -e says why)"
    fi
    fail "the service did not start (journalctl -u fieldagent -e says why); fix it, then: sudo systemctl start fieldagent"
}

next_steps() {
    cat <<EOF

Next:
  1. edit $station for this station (station id, broker, devices)
  2. check it:     sudo fieldagent check-config -c /etc/fieldagent/station.toml
  3. test it:      sudo fieldagent doctor -c /etc/fieldagent/station.toml
  4. start it:     sudo systemctl start fieldagent
  5. watch it:     journalctl -u fieldagent -f    (and systemctl status fieldagent)
EOF
    if [ "$live" -eq 0 ]; then
        echo "  (installed under $root: no user was created and nothing was started)"
    elif ! systemd_running; then
        echo "  (systemd is not running here: the service is enabled for the next boot, not started)"
    fi
}

# ---------------------------------------------------------------- actions
do_install() {
    local old new
    check_machine
    check_python
    ensure_user
    ensure_dirs
    old=$(target_of current)
    if [ "$action" = install ] && [ -n "$old" ]; then
        say "fieldagent is already installed ($opt/$old); to install this tree's version use --upgrade"
    else
        new=$(new_venv_name)
        if ! build_venv "$new"; then
            rm -rf "${opt:?}/$new"
            fail "could not build $opt/$new (see above); ${old:+fieldagent stays on $old, }nothing was switched"
        fi
        if ! self_check "$new" "$old"; then
            rm -rf "${opt:?}/$new"
            if [ -n "$old" ]; then
                fail "upgrade stopped: the new version failed its self-check ($problem); fieldagent stays on $old"
            fi
            fail "install stopped: the new version failed its self-check ($problem)"
        fi
        if [ -n "$old" ]; then point previous "$old"; fi
        point current "$new"
        say "now using $opt/$new${old:+ (previous: $old, sudo $0 --rollback returns to it)}"
        prune
    fi
    link_command
    install_unit
    restart_if_running "$old" "${new:-}"
    next_steps
}

do_rollback() {
    local now before
    now=$(target_of current)
    before=$(target_of previous)
    [ -n "$before" ] || fail "no previous version under $opt to roll back to"
    point current "$before"
    point previous "$now"
    say "rolled back: now using $opt/$before (was $now)"
    restart_if_running
}

do_uninstall() {
    if systemd_running; then
        systemctl disable --now --quiet fieldagent.service 2>/dev/null || true
    elif command -v systemctl >/dev/null && [ -f "$unit" ]; then
        systemctl --root="$root" disable --quiet fieldagent.service 2>/dev/null || true
    fi
    rm -f "$units/multi-user.target.wants/fieldagent.service" "$unit"
    if systemd_running; then systemctl daemon-reload; fi
    if [ "$(readlink "$command_link" 2>/dev/null)" = /opt/fieldagent/current/bin/fieldagent ]; then
        rm -f "$command_link"
    fi
    rm -rf "$opt"
    say "removed the service, $opt and the command fieldagent"
    if [ "$action" = purge ]; then
        rm -rf "$etc" "$state"
        say "removed $etc (station file) and $state (outbox, alarms, archive)"
    else
        say "kept $etc (station file) and $state (outbox, alarms, archive); --purge removes them"
    fi
    if [ "$live" -eq 1 ] && getent passwd "$user" >/dev/null; then
        say "the system user $user is kept (userdel $user removes it)"
    fi
}

case "$action" in
    install | upgrade) do_install ;;
    rollback) do_rollback ;;
    uninstall | purge) do_uninstall ;;
esac
