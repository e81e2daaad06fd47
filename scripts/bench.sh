#!/usr/bin/env bash
# The benchmark harness in one command: the agent against its peers (collectd,
# prometheus-snmp-exporter, net-snmp's tools) on one snmpd for 10, 50, 100 and 200
# devices, then the quick forms of the other benches.  Figures go to bench/results/:
# peer.json, peer.md, peer.png and others.txt (git-ignored; bench/README.md quotes them).
#
#   scripts/bench.sh [--duration S] [--devices "10 50 100 200"] [--interval S]
#                    [--responder snmpd|sim] [--no-others]
#
# --responder sim: the agent's own simulator answers instead of net-snmp's snmpd (a replay of
# snmpd's objects), and the peer figures go to peer-sim.json, .md, .png.
# Takes about (duration + interval) x 3 + duration per device count: 18 min at the default
# 60 s.  As root it installs the peers from Debian's packages; otherwise it names them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

duration=60
devices="10 50 100 200"
interval=10
others=1
responder=snmpd
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --devices) devices=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --responder) responder=$2; shift 2 ;;
        --no-others) others=0; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "scripts/bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

# The project's virtualenv and the test tools, as scripts/test.sh has them; then the
# optional `bench` extra (matplotlib, for the plot) when it is missing.
source "$root/scripts/setup.sh"
cd "$root"
if ! .venv/bin/python -c 'import matplotlib' >/dev/null 2>&1; then
    echo "bench: installing the bench extra (matplotlib) into .venv" >&2
    .venv/bin/python -m pip install -q -e "$root[test,bench]"
fi

# The peers, from Debian's packages: the SNMP peers (peer.py checks them too), snmptrapd
# for the trap bench, mbpoll for the Modbus bench.
need=()
command -v collectd >/dev/null 2>&1 || [ -x /usr/sbin/collectd ] || need+=(collectd-core)
command -v prometheus-snmp-exporter >/dev/null 2>&1 || need+=(prometheus-snmp-exporter)
command -v snmpd >/dev/null 2>&1 || [ -x /usr/sbin/snmpd ] || need+=(snmpd)
command -v snmptrapd >/dev/null 2>&1 || [ -x /usr/sbin/snmptrapd ] || need+=(snmptrapd)
command -v mbpoll >/dev/null 2>&1 || need+=(mbpoll)
if [ ${#need[@]} -gt 0 ]; then
    install=(apt-get install -y --no-install-recommends "${need[@]}")
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench: missing ${need[*]}: run \`sudo ${install[*]}\`" >&2
        exit 1
    fi
    echo "bench: installing ${need[*]} (apt-get)" >&2
    # Debian would start the packaged daemons; the benches run their own, on free ports.
    DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null; }
fi

results="$root/bench/results"
mkdir -p "$results"
echo "bench: load before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
name=peer
[ "$responder" = snmpd ] || name="peer-$responder"
# shellcheck disable=SC2086  # the device counts are words
.venv/bin/python bench/peer.py --devices $devices --duration "$duration" --interval "$interval" \
    --responder "$responder" \
    --json "$results/$name.json" --md "$results/$name.md" --plot "$results/$name.png"
echo "bench: load after the peer bench: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [ "$others" -eq 1 ]; then
    # Quick forms: a few seconds each.  The longer ones (outbox_drain, sd_writes,
    # mqtt_oversize, startup --before) are run by hand as bench/README.md says.
    {
        for bench in "trap_latency.py --traps 200" "trap_to_mqtt.py --traps 50" \
            "modbus_poll.py --polls 200" "poll_throughput.py --devices 10 --rounds 10" \
            "snmp_timeout.py" "startup.py --runs 3"; do
            echo "== bench/$bench"
            # shellcheck disable=SC2086
            .venv/bin/python bench/$bench || echo "(exit status $?)"
            echo
        done
    } 2>&1 | tee "$results/others.txt"
fi
echo "bench: results in bench/results/ ($name.json, $name.md, $name.png; others.txt)" >&2
