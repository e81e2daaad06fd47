"""The `fieldagent` command line: one subcommand per job a user has.

Exit codes follow sysexits where no issue fixes them: 78 for a config that
cannot be used (systemd's RestartPreventExitStatus can stop a restart loop on
it), 69 when the broker never acknowledged a `--once` run, 75 when another
agent already runs on the same state directory (systemd retries later), 71
when the system refused something (a port in use, a file that cannot be
written), 141 when the reader of the output went away (`| head`), as a shell
reports a tool stopped by SIGPIPE. Each failure is one line on stderr, not a
traceback: the traceback is logged with -v.

Parsing the arguments imports argparse and this module only: what a command needs (the
config models, the drivers, the checklist, the transports) is imported by its handler, so
`fieldagent --help` answers at once and `check-config` never loads pysnmp or paho.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fieldagent import __version__
from fieldagent.configbase import DEFAULT_CONFIG_PATH, ConfigError

if TYPE_CHECKING:
    from drivers import Registry
    from fieldagent.checklist.resolve import StationChecklist
    from fieldagent.config import Config, MqttSection
    from fieldagent.driver import Driver
    from fieldagent.identify import Identification

EXIT_CONFIG = 78
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL: another agent holds the state directory
EXIT_OS_ERROR = 71  # sysexits EX_OSERR: a port in use, a file that cannot be written
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: the broker did not answer (monitor, readiness)
EXIT_USAGE = 64  # sysexits EX_USAGE: a bad option (a name, an --output that will not be written)
log = logging.getLogger("fieldagent")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from fieldagent.logformat import configure
    from fieldagent.state import StateDirBusy, StateStoreError

    configure(sys.stderr, logging.DEBUG if args.verbose else logging.INFO)
    handler: object = args.handler
    assert callable(handler)
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it would go unsaid
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return _unusable(args)
    except StateStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return _unusable(args)
    except StateDirBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _drop_stdout()
        print("fieldagent: output closed by its reader (broken pipe)", file=sys.stderr)
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        log.debug("%s failed", args.command, exc_info=True)
        print(f"error: {_os_error_text(exc)}", file=sys.stderr)
        return EXIT_OS_ERROR
    assert isinstance(code, int)
    return code


def _unusable(args: argparse.Namespace) -> int:
    """Exit 78; the daemon also says, as the journal's last line, that it stays down."""
    if args.command == "run":
        print(
            f"fieldagent: not started (exit {EXIT_CONFIG}: unusable configuration, systemd does"
            " not restart it): fix the above, then systemctl restart fieldagent",
            file=sys.stderr,
        )
    return EXIT_CONFIG


def _drop_stdout() -> None:
    """Point stdout at /dev/null: the interpreter's flush at exit would fail on the pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _os_error_text(exc: OSError) -> str:
    """`[Errno 98] cannot serve…` without the errno, with the file it concerns if any."""
    text = exc.strerror or str(exc)
    return f"{exc.filename}: {text}" if exc.filename else text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldagent",
        description="Station agent: polls equipment, publishes health over MQTT.",
    )
    parser.add_argument("--version", action="version", version=f"fieldagent {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the agent (the daemon)")
    _config_option(run)
    run.add_argument("--once", action="store_true", help="poll every device once, publish, exit")
    run.add_argument("--broker", metavar="URL", help="broker URL, overrides [mqtt] url")
    run.add_argument(
        "--ack-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="with --once: how long to wait for the broker's acknowledgements (default 30)",
    )
    run.set_defaults(handler=_cmd_run)

    check = sub.add_parser("check-config", help="validate a station file")
    # FILE or -c FILE: the README and older notes give it bare; every other command takes -c.
    station_file = check.add_mutually_exclusive_group()
    station_file.add_argument("file", type=Path, nargs="?", metavar="FILE", help="station file")
    _config_option(station_file)
    check.set_defaults(handler=_cmd_check_config)

    poll = sub.add_parser("poll", help="poll one device now and print its readings")
    _config_option(poll)
    poll.add_argument("device", metavar="DEVICE_ID")
    poll.add_argument("--json", action="store_true", help="print JSON instead of a table")
    poll.set_defaults(handler=_cmd_poll)

    simulate = sub.add_parser(
        "simulate", help="serve simulated devices of a config, or a recorded walk, on loopback"
    )
    _config_option(simulate)
    _scenario_options(simulate)
    simulate.add_argument(
        "--replay",
        action="append",
        default=[],
        metavar="[DEVICE=]FILE",
        help="serve a walk (snmpwalk -On output or .snmprec) as recorded: FILE alone at"
        " --listen, or with -c DEVICE=FILE in place of DEVICE's model (repeatable)",
    )
    simulate.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="where --replay FILE answers (a loopback address; default 127.0.0.1:16161)",
    )
    simulate.add_argument(
        "--community", help="the community --replay FILE answers (default public)"
    )
    simulate.set_defaults(handler=_cmd_simulate, config=None)

    demo = sub.add_parser("demo", help="simulated station + local broker + agent + live view")
    demo.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="station file (default: config/demo-station.toml)",
    )
    demo.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    demo.add_argument(
        "--fault-after",
        type=float,
        default=20.0,
        metavar="S",
        help="cut the mains of the first UPS after S s to show alarms (default 20; 0 = never)",
    )
    _scenario_options(demo, time_scale=3.0)
    demo.set_defaults(handler=_cmd_demo)

    maintenance = sub.add_parser(
        "maintenance", help="put a device in maintenance mode (alarms held back), or end it"
    )
    _config_option(maintenance)
    maintenance.add_argument("device", metavar="DEVICE_ID")
    when = maintenance.add_mutually_exclusive_group(required=True)
    when.add_argument("--hours", type=float, metavar="H", help="for H hours from now")
    when.add_argument("--until", metavar="TIME", help="until an ISO time with its offset")
    when.add_argument("--off", action="store_true", help="end maintenance now")
    maintenance.set_defaults(handler=_cmd_maintenance)

    outbox = sub.add_parser(
        "outbox", help="show the messages waiting for the broker (count per kind, oldest, size)"
    )
    _config_option(outbox)
    outbox.add_argument("--json", action="store_true", help="print JSON instead of a table")
    outbox.set_defaults(handler=_cmd_outbox)

    checklist = sub.add_parser("checklist", help="the pre-holiday maintenance checklist")
    checklist_sub = checklist.add_subparsers(dest="checklist_command", required=True)
    show = checklist_sub.add_parser(
        "show", help="list the station's checklist items, the devices each checks"
    )
    _config_option(show)
    show.add_argument("--lang", choices=["vi", "en"], default="vi", help="language (default vi)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(handler=_cmd_checklist_show)

    run_list = checklist_sub.add_parser(
        "run",
        help="poll every device, judge every item, ask the manual ones; archive and publish",
        description=(
            "Exit 0: every item passed; 1: an item failed; 2: incomplete (a manual item"
            " unanswered, a device unreachable); 64: a bad option; 78: a bad station file."
        ),
    )
    _config_option(run_list)
    run_list.add_argument("--technician", metavar="NAME", help="who inspects (on the report)")
    run_list.add_argument(
        "--confirm",
        action="append",
        default=[],
        metavar="ITEM[=NOTE]",
        help="confirm a manual item, or attest a readiness item whose history is too young,"
        " with an optional note (repeatable; needs --technician)",
    )
    run_list.add_argument(
        "--lang", choices=["vi", "en"], default="vi", help="language (default vi)"
    )
    run_list.add_argument(
        "--format", choices=["text", "json", "html"], default="text", help="report format"
    )
    run_list.add_argument(
        "--output", type=Path, metavar="PATH", help="write the report there (default: print it)"
    )
    run_list.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --output file (never one reached through a symbolic link)",
    )
    run_list.set_defaults(handler=_cmd_checklist_run)

    drivers_cmd = sub.add_parser("drivers", help="list the drivers and their metrics")
    drivers_cmd.add_argument("name", nargs="?", help="show one driver in full")
    _config_option(drivers_cmd, "its profiles.d folder adds the station's own profiles")
    drivers_cmd.set_defaults(handler=_cmd_drivers)

    _profile_commands(sub)

    identify = sub.add_parser(
        "identify", help="read a device's identity and rank the drivers and profiles that fit"
    )
    identify.add_argument("host", metavar="HOST")
    _config_option(identify, "its profiles.d folder adds the station's own profiles")
    identify.add_argument("--community", default="public", help="SNMP community (default public)")
    identify.add_argument("--port", type=int, default=161)
    identify.add_argument("--snmp-version", choices=["1", "2c"], default="2c")
    identify.add_argument("--timeout", type=float, default=2.0, metavar="S")
    identify.add_argument("--json", action="store_true", help="print the ranking as JSON")
    identify.set_defaults(handler=_cmd_identify)

    _doctor_parser(sub)

    schema = sub.add_parser("schema", help="print the JSON Schema of the published payloads")
    schema.add_argument(
        "kind",
        nargs="?",
        help="status, telemetry, telemetry-compact, meta, health, ... (default: all)",
    )
    schema.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write one KIND.schema.json per payload and index.json into this folder",
    )
    schema.add_argument(
        "--force", action="store_true", help="with --out: replace the files already there"
    )
    schema.set_defaults(handler=_cmd_schema)

    _province_commands(sub)
    return parser


def _doctor_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check this station's set-up: files, clock, serial ports, trap port, broker, devices",
        description=(
            "One row per check, passed, warned or failed, with what to do next, in Vietnamese"
            " and English. Exit 0: every check passed; 1: a warning; 2: a check failed;"
            " 78: the station file cannot be used."
        ),
    )
    _config_option(doctor)
    doctor.add_argument("--json", action="store_true", help="print JSON instead of a table")
    doctor.add_argument(
        "--no-devices", action="store_true", help="do not poll the devices (the rest only)"
    )
    doctor.add_argument(
        "--lang", choices=["vi", "en"], help="one language only (default: Vietnamese, then English)"
    )
    doctor.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds each broker step and each device request may take (default 5)",
    )
    doctor.add_argument(
        "--user",
        metavar="NAME",
        help="the account the service runs as (default: fieldagent if it exists, else yours)",
    )
    doctor.add_argument(
        "--min-free-mb",
        type=int,
        default=200,
        metavar="MB",
        help="warn when the state directory has less free space (default 200)",
    )
    doctor.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from fieldagent.doctor.command import DoctorOptions, run_doctor

    if not 0 < args.timeout <= 120:
        print("error: --timeout: give seconds from above 0 to 120", file=sys.stderr)
        return EXIT_USAGE
    options = DoctorOptions(
        langs=(args.lang,) if args.lang else ("vi", "en"),
        json=args.json,
        devices=not args.no_devices,
        timeout=args.timeout,
        user=args.user,
        min_free_mb=args.min_free_mb,
    )
    if not args.verbose:  # the publisher and the poller would log what the rows say
        logging.getLogger("fieldagent").setLevel(logging.CRITICAL)
    return run_doctor(args.config, options)


def _broker_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The province's link to the broker, as `[mqtt]` gives the agent's (province/link.py)."""
    parser.add_argument(
        "--broker", metavar="URL", required=required, help="mqtt:// or mqtts:// URL"
    )
    parser.add_argument("--username", metavar="NAME", help="broker user name")
    parser.add_argument(
        "--password-file", type=Path, metavar="FILE", help="file holding the password (private)"
    )
    parser.add_argument("--ca-file", type=Path, metavar="FILE", help="CA certificate (mqtts)")
    parser.add_argument("--cert-file", type=Path, metavar="FILE", help="client certificate")
    parser.add_argument("--key-file", type=Path, metavar="FILE", help="client certificate's key")
    parser.add_argument(
        "--no-tls-verify", action="store_true", help="do not verify the broker's certificate"
    )
    parser.add_argument(
        "--allow-plaintext", action="store_true", help="allow mqtt:// to another machine"
    )
    parser.add_argument("--mqtt5", action="store_true", help="speak MQTT 5 (--share implies it)")
    parser.add_argument(
        "--topic-root", default="bctv/v1", metavar="ROOT", help="topic root (default bctv/v1)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="how long to wait for the broker's retained messages (default 30)",
    )


def _web_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`web`: the read-only live page (fieldagent/web/); `web passwd` its password file."""
    page = sub.add_parser("web", help="the province's read-only live page (needs a login)")
    _broker_options(page, required=False)
    page.add_argument(
        "--listen", default="127.0.0.1:8080", metavar="ADDR:PORT", help="default 127.0.0.1:8080"
    )
    page.add_argument("--passwords", type=Path, metavar="FILE", help="users (web passwd)")
    page.add_argument("--station", metavar="GLOB", help="only these stations")
    page.add_argument("--share", metavar="GROUP", help="MQTT 5 shared subscription group")
    page.add_argument("--archive", type=Path, metavar="DIR", help="keep every report seen")
    page.add_argument(
        "--silent-after",
        type=float,
        default=300.0,
        metavar="S",
        help="flag a station SILENT after this long without a message (default 300)",
    )
    page.add_argument(
        "--cookie-secure",
        action="store_true",
        help="mark the session cookie Secure (behind a reverse proxy doing TLS)",
    )
    page.set_defaults(handler=_cmd_web)
    tools = page.add_subparsers(dest="web_command", metavar="passwd")
    passwd = tools.add_parser("passwd", help="add a user or change a password (asked, or stdin)")
    passwd.add_argument("file", type=Path, metavar="FILE")
    passwd.add_argument("user", metavar="USER")
    passwd.set_defaults(handler=_cmd_web_passwd)


def _province_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`monitor` and `readiness`: the province's side of the stations (docs/central.md)."""
    monitor = sub.add_parser("monitor", help="every station's state from the province's broker")
    _broker_options(monitor)
    monitor.add_argument("--station", metavar="GLOB", help="these stations' devices and alarms")
    monitor.add_argument("--once", action="store_true", help="print once the retained state is in")
    monitor.add_argument("--json", action="store_true", help="machine output (docs/central.md)")
    monitor.add_argument(
        "--silent-after",
        type=float,
        default=300.0,
        metavar="S",
        help="flag a station SILENT after this long without a message (default 300)",
    )
    monitor.add_argument("--share", metavar="GROUP", help="MQTT 5 shared subscription group")
    monitor.add_argument("--archive", type=Path, metavar="DIR", help="keep every report seen")
    monitor.add_argument(
        "--no-telemetry",
        action="store_true",
        help="leave telemetry and meta out (less traffic; no gaps judged)",
    )
    monitor.set_defaults(handler=_cmd_monitor)
    _web_command(sub)

    readiness = sub.add_parser(
        "readiness", help="the province's pre-holiday summary of checklist reports"
    )
    _broker_options(readiness)
    readiness.add_argument("--holiday", required=True, metavar="NAME", help="e.g. 'Tết 2027'")
    readiness.add_argument(
        "--since",
        metavar="DATE",
        help="reports finished on or after this day count (default: 14 days ago)",
    )
    readiness.add_argument(
        "--format", choices=("text", "html", "csv", "json"), default="text", help="default text"
    )
    readiness.add_argument("--archive", type=Path, metavar="DIR", help="the monitor's archive")
    readiness.add_argument(
        "--stations", type=Path, metavar="FILE", help="expected stations (TOML or one a line)"
    )
    readiness.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    readiness.add_argument("--force", action="store_true", help="replace an existing --output")
    readiness.add_argument("--province", default="", metavar="TEXT", help="HTML masthead")
    readiness.add_argument("--department", default="", metavar="TEXT", help="HTML masthead")
    readiness.set_defaults(handler=_cmd_readiness)


def _profile_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`fieldagent profile ...`: device profiles, drivers written as TOML files."""
    profile = sub.add_parser("profile", help="device profiles: drivers as TOML files")
    commands = profile.add_subparsers(dest="profile_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate profile files: every problem by file and key path, and the"
        " simulator against the profile's own expectations",
        description="Exit 0: every file is a usable profile; 1: a file has problems.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _config_option(check, "a profile may not take the name of a driver the station has")
    check.set_defaults(handler=_cmd_profile_check)
    _profile_new_parser(commands)


def _profile_new_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    new = commands.add_parser(
        "new",
        help="draft a profile from a device's walk (snmpwalk -On output or .snmprec)",
        description=(
            "Draft a profile from what a device served: every enterprise object becomes a"
            " metric with its OID, MIB name and description in a comment, to rename or"
            " delete. Exit 78: a walk or MIB that cannot be read; 64: a bad option."
        ),
    )
    new.add_argument("--from-walk", type=Path, required=True, metavar="FILE", help="the walk")
    new.add_argument(
        "--mib",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a MIB file of the device (repeatable; also for the MIBs it imports)",
    )
    new.add_argument("--name", help="the profile's name (default: from the file names)")
    new.add_argument("--kind", default="device", help="the metric keys' prefix (default device)")
    new.add_argument("-o", "--output", type=Path, metavar="FILE", help="write it there")
    new.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --output file (never one reached through a symbolic link)",
    )
    new.set_defaults(handler=_cmd_profile_new)


def _cmd_profile_check(args: argparse.Namespace) -> int:
    from drivers import station_registry
    from fieldagent.driver import Maturity
    from fieldagent.profiles.build import ProfileError
    from fieldagent.profiles.load import load_profile
    from fieldagent.profiles.selftest import simulator_problems

    registry = station_registry(args.config)
    failed = False
    for path in args.files:
        try:
            driver = load_profile(path)
        except ProfileError as exc:
            print("\n".join(exc.problems), file=sys.stderr)
            failed = True
            continue
        origin = registry.origins.get(driver.name)
        if origin is not None and Path(origin).resolve() != path.resolve():
            print(
                f"{path}: profile.name: a driver called {driver.name!r} already exists"
                f" ({origin}): give the profile another name",
                file=sys.stderr,
            )
            failed = True
            continue
        contradictions = simulator_problems(driver, str(path))
        if contradictions:
            print("\n".join(contradictions), file=sys.stderr)
            failed = True
            continue
        print(f"{path}: ok ({_profile_summary(driver)})")
        if driver.maturity is Maturity.MODEL:
            print(f"{path}: warning: maturity is model: check its readings against the device")
    return 1 if failed else 0


def _profile_summary(driver: Driver) -> str:
    counts = [
        f"{len(driver.metrics)} metrics",
        f"{len(driver.traps)} trap rules",
        f"{len(driver.simulator.scenarios)} scenarios",
    ]
    return f"driver {driver.name}, {driver.kind} over {driver.protocol}, {', '.join(counts)}"


def _config_option(parser: argparse._ActionsContainer, why: str = "") -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        metavar="FILE",
        help=f"station file (default {DEFAULT_CONFIG_PATH}){': ' + why if why else ''}",
    )


def _scenario_options(parser: argparse.ArgumentParser, time_scale: float = 1.0) -> None:
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="DEVICE=NAME",
        help="start DEVICE in scenario NAME (repeatable), e.g. ups-main=mains_fail",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=time_scale,
        metavar="X",
        help=f"run scenario time X times faster (default {time_scale:g})",
    )


def load(path: Path) -> Config:
    """The station file, its checklist included: every command refuses a broken one alike."""
    return load_station(path).config


def load_station(path: Path, registry: Registry | None = None) -> StationChecklist:
    """The station file with its drivers (its own profiles included) and checklist."""
    from fieldagent.checklist.resolve import StationChecklist, checklist_titles, station_checklist
    from fieldagent.config import load_config

    registry = registry or drivers_of(path)
    try:
        config = load_config(path, known_drivers=registry)
    except ConfigError as exc:
        # A device whose profile is broken reads as an unknown driver: say why.
        raise ConfigError(exc.problems + _load_problems(registry)) from None
    items = station_checklist(config, path, registry)
    drivers = {d.id: registry.get_driver(d.driver).with_scaling(d.scaling) for d in config.device}
    return StationChecklist(config, items, drivers, checklist_titles(config, path))


def drivers_of(station_file: Path) -> Registry:
    """Every driver a station can use: shipped, and its own profiles (``profiles.d`` beside
    its file); a module or profile that cannot be loaded is logged and left out."""
    from drivers import station_registry

    registry = station_registry(station_file)
    for line in _load_problems(registry):
        log.warning("driver left out: %s", line)
    return registry


def _load_problems(registry: Registry) -> list[str]:
    return [line for problem in registry.problems for line in problem.lines]


def _cmd_check_config(args: argparse.Namespace) -> int:
    from fieldagent.driver import Maturity
    from fieldagent.secrecy import link_warnings, start_problems

    path: Path = args.file or args.config
    try:
        station = load_station(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    config = station.config
    exposed = start_problems(path, config)
    if exposed:
        print("\n".join(exposed), file=sys.stderr)
        return 1
    print(f"{path}: ok (station {config.station.id}, {len(config.device)} devices)")
    for warning in link_warnings(config.mqtt):
        print(f"{path}: warning: {warning}")
    for device_id, driver in station.drivers.items():
        if driver.maturity is Maturity.MODEL:
            print(
                f"{path}: warning: device {device_id!r}: driver {driver.name} is a model, not"
                " built on a published MIB or protocol document: check its readings against"
                " the device"
            )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from fieldagent.agent import Agent
    from fieldagent.lifecycle import run_until_stopped

    station = _station_to_run(args)
    if args.broker is not None:
        _check_broker_url(args.broker, station.config.mqtt)
    from fieldagent.sdnotify import Notifier

    agent = Agent(
        station.config,
        broker_url=args.broker,
        once=args.once,
        checklist=station,
        notifier=None if args.once else Notifier.from_environment(),
    )
    if args.once:
        return asyncio.run(agent.run_once(args.ack_timeout))

    def reload() -> None:  # SIGHUP: `systemctl reload fieldagent`
        log.info("SIGHUP: reloading %s", args.config)
        agent.reload(lambda: _station_to_run(args))

    return asyncio.run(run_until_stopped(agent.run_forever, on_hangup=reload))


def _station_to_run(args: argparse.Namespace) -> StationChecklist:
    """The station file as `run` takes it, at start and on SIGHUP: validated with its
    profiles and checklist, its secrets' permissions checked; its log levels applied."""
    from fieldagent.devicelog import set_debug_devices
    from fieldagent.secrecy import start_problems

    station = load_station(args.config)
    exposed = start_problems(args.config, station.config)
    if exposed:
        raise ConfigError(exposed)
    if not args.verbose:  # -v asks for everything, whatever the file says
        logging.getLogger().setLevel(station.config.agent.log_level.value.upper())
    set_debug_devices(station.config.agent.debug_devices)
    return station


def _check_broker_url(url: str, mqtt: MqttSection) -> None:
    from pydantic import ValidationError

    from fieldagent.config import MqttSection

    try:
        MqttSection(url=url, allow_plaintext=mqtt.allow_plaintext)
    except ValidationError as exc:
        # The rule's words only: the URL itself may hold a password.
        problems = [str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()]
        raise ConfigError([f"--broker: {problem}" for problem in problems]) from None


def _cmd_poll(args: argparse.Namespace) -> int:
    import asyncio

    from fieldagent.health import evaluate
    from fieldagent.poller import Poller
    from fieldagent.transports.local import LocalReader
    from fieldagent.transports.serialport import SerialLines
    from fieldagent.transports.snmp import SnmpClient

    station = load_station(args.config)
    config = station.config
    try:
        device = config.find_device(args.device)
    except KeyError as exc:
        print(f"{args.config}: {exc.args[0]}", file=sys.stderr)
        return 2
    driver = station.drivers[device.id]

    async def once() -> int:
        client, serial = SnmpClient(), SerialLines()
        try:
            local = LocalReader(state_dir=config.agent.state_dir)
            result = await Poller(client, local, serial).poll(device, driver)
        finally:
            client.close()
            serial.close()
        if args.json:
            print(
                json.dumps(
                    {
                        r.key: {
                            "value": r.value,
                            "unit": r.unit,
                            "quality": r.quality,
                            **({} if r.in_use else {"in_use": False}),
                        }
                        for r in result.readings
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            where = device.location
            print(f"{device.id} ({driver.name}) at {where}, {result.duration_s * 1000:.0f} ms")
            print(_table(result))
            if result.answered:
                print(f"health: {evaluate(driver, result).state}")
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
            return 1
        return 0

    return asyncio.run(once())


def _table(result: object) -> str:
    """One row per reading; a detail that is the poll's own error is left to its one line,
    a row the device says is not in use is marked so (health leaves it out)."""
    from fieldagent.model import PollResult

    assert isinstance(result, PollResult)
    rows = [("METRIC", "VALUE", "UNIT", "QUALITY")] + [
        (
            r.key,
            "" if r.value is None else str(r.value),
            r.unit,
            r.quality
            + (f" ({r.detail})" if r.detail and r.detail != result.error else "")
            + ("" if r.in_use else ", not in use"),
        )
        for r in result.readings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}"
        for row in rows
    )


def _cmd_simulate(args: argparse.Namespace) -> int:
    from fieldagent.config import DEFAULT_COMMUNITY
    from fieldagent.sim.cli import (
        DEFAULT_LISTEN,
        listen_address,
        load_replay,
        run_replay,
        run_simulator,
    )

    if args.config is None and args.replay:
        # One walk, no station file: FILE is all of the value.
        if len(args.replay) > 1 or args.scenario:
            raise ConfigError(
                [
                    "--replay FILE serves one walk, without --scenario: give -c FILE and"
                    " --replay DEVICE=FILE to replay devices of a station"
                ]
            )
        host, port = listen_address(args.listen or DEFAULT_LISTEN)
        device = load_replay(Path(args.replay[0]), "--replay")
        return run_replay(device, host, port, args.community or DEFAULT_COMMUNITY)
    if args.listen is not None or args.community is not None:
        raise ConfigError(
            [
                "--listen and --community apply to --replay FILE alone: a station's devices"
                " answer at their own address, with their own credentials"
            ]
        )
    path = args.config or DEFAULT_CONFIG_PATH
    registry = drivers_of(path)
    config = load_station(path, registry).config
    replays = {}
    for item in args.replay:
        device_id, sep, walk = item.partition("=")
        if not sep or not device_id or not walk:
            raise ConfigError([f"--replay {item!r}: with -c, expected DEVICE=FILE"])
        replays[device_id] = load_replay(Path(walk), f"--replay {device_id}")
    scenarios = _parse_scenarios(args.scenario)
    return run_simulator(config, scenarios, args.time_scale, registry.get_driver, replays)


def _cmd_demo(args: argparse.Namespace) -> int:
    from fieldagent.demo import DemoOptions, default_demo_config, run_demo

    path = args.config or default_demo_config()
    options = DemoOptions(
        duration=args.duration,
        fault_after=args.fault_after or None,
        scenarios=_parse_scenarios(args.scenario),
        time_scale=args.time_scale,
    )
    registry = drivers_of(path)
    return run_demo(load_station(path, registry), registry.get_driver, options)


def _parse_scenarios(items: list[str]) -> dict[str, str]:
    scenarios: dict[str, str] = {}
    for item in items:
        device, sep, name = item.partition("=")
        if not sep or not device or not name:
            raise ConfigError([f"--scenario {item!r}: expected DEVICE=NAME"])
        scenarios[device] = name
    return scenarios


def _cmd_checklist_show(args: argparse.Namespace) -> int:
    from fieldagent.checklist.resolve import station_checklist
    from fieldagent.checklist.show import checklist_json, checklist_text, schedule_text
    from fieldagent.config import load_config
    from fieldagent.model import utc_now

    registry = drivers_of(args.config)
    config = load_config(args.config, known_drivers=registry)
    items = station_checklist(config, args.config, registry)
    if args.json:
        print(json.dumps(checklist_json(items), indent=2, ensure_ascii=False))
    else:
        names = ", ".join(config.checklist.templates) or "-"
        print(f"{config.station.id}: {len(items)} items ({names})")
        print(checklist_text(items, args.lang))
        print(schedule_text(config, utc_now(), args.lang))
    return 0


def _cmd_checklist_run(args: argparse.Namespace) -> int:
    from fieldagent.checklist.command import (
        EXIT_USAGE,
        RunOptions,
        UsageError,
        parse_confirmations,
        run_checklist,
    )

    station = load_station(args.config)
    try:
        options = RunOptions(
            technician=(args.technician or "").strip() or None,
            confirm=parse_confirmations(args.confirm, station),
            lang=args.lang,
            output_format=args.format,
            output=args.output,
            replace_output=args.force,
        )
        return run_checklist(station, options)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _cmd_outbox(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from fieldagent.checklist.desk import ChecklistDesk
    from fieldagent.model import utc_now
    from fieldagent.outbox import Outbox
    from fieldagent.outbox.report import backlog_json, backlog_text
    from fieldagent.state import check_state_db

    config = load(args.config)
    check_state_db(config.agent.state_dir)  # damaged: say so, not "cannot write"
    outbox = Outbox.of_station(config)
    try:
        backlog = outbox.backlog()
    finally:
        outbox.close()
    desk = ChecklistDesk(config.agent.state_dir)
    try:
        backlog = backlog.with_handed_over(*desk.waiting())
    finally:
        desk.close()
    if args.json:
        print(json.dumps(backlog_json(backlog), indent=2))
    else:
        print(f"Outbox of {config.station.id} in {config.agent.state_dir}")
        print(backlog_text(backlog, utc_now(), ZoneInfo(config.station.timezone)))
    return 0


def _cmd_maintenance(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from fieldagent.alarms import AlarmStore
    from fieldagent.alarms.messages import local_time
    from fieldagent.model import utc_now
    from fieldagent.state import running_agent

    config = load(args.config)
    try:
        config.find_device(args.device)
    except KeyError as exc:
        print(f"{args.config}: {exc.args[0]}", file=sys.stderr)
        return 2
    now = utc_now()
    until: datetime | None = None
    if args.hours is not None:
        if args.hours <= 0:
            raise ConfigError(["--hours: give a positive number of hours"])
        until = now + timedelta(hours=args.hours)
    elif args.until is not None:
        try:
            until = datetime.fromisoformat(args.until)
        except ValueError:
            raise ConfigError([f"--until {args.until!r}: not an ISO time"]) from None
        if until.utcoffset() is None:
            raise ConfigError([f"--until {args.until!r}: give the offset, e.g. +07:00"])
    store = AlarmStore(config.agent.state_dir)
    try:
        store.request_maintenance(args.device, until, now)
    finally:
        store.close()
    zone = config.station.timezone
    what = f"until {local_time(until, ZoneInfo(zone))} (station time, {zone})" if until else "off"
    agent = running_agent(config.agent.state_dir)
    if agent is not None:
        print(
            f"{args.device}: maintenance {what}; the running agent (pid {agent}) applies it"
            " within a second"
        )
    else:
        print(
            f"{args.device}: maintenance {what}; no agent runs on {config.agent.state_dir}"
            " now: the request waits there, and the agent applies it when it starts"
        )
    return 0


def _cmd_drivers(args: argparse.Namespace) -> int:
    from fieldagent.driverdoc import render_text

    registry = drivers_of(args.config)
    if args.name is not None:
        try:
            print(render_text(registry.get_driver(args.name), full=True), end="")
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        return 0
    for driver in registry.values():
        print(render_text(driver, full=False), end="")
    return 0


def _cmd_identify(args: argparse.Namespace) -> int:
    import asyncio

    from fieldagent.config import SnmpDevice
    from fieldagent.identify import identify
    from fieldagent.transports.snmp import SnmpClient, SnmpError, SnmpTarget

    try:
        device = SnmpDevice(
            id="identify",
            driver="-",
            host=args.host,
            port=args.port,
            snmp_version=args.snmp_version,
            community=args.community,
            timeout=args.timeout,
        )
    except ValueError as exc:
        raise ConfigError([f"identify: {exc}"]) from None
    target = SnmpTarget.from_device(device)

    async def run() -> int:
        client = SnmpClient()
        try:
            found = await identify(client, target, drivers_of(args.config).values())
        except SnmpError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            client.close()
        if args.json:
            print(json.dumps(_identification_json(target.address, found), indent=2))
        else:
            print(_identification_text(target.address, found))
        if found.incomplete:
            print(f"warning: not every object was asked: {found.incomplete}", file=sys.stderr)
        return 0 if found.candidates else 1

    return asyncio.run(run())


def _identification_text(address: str, found: Identification) -> str:
    """The identity read, then every candidate best first, one line each."""
    lines = [
        address,
        f"  sysObjectID  {found.sys_object_id or '(none)'}",
        f"  sysDescr     {found.sys_descr or '(none)'}",
    ]
    tried = f"{found.tried} SNMP drivers and profiles tried"
    if not found.candidates:
        return "\n".join([*lines, f"no driver matches this device ({tried})"])
    rows = [("driver", "kind", "maturity", "score", "objects", "evidence")]
    for candidate in found.candidates:
        answered = candidate.scalars[0] + candidate.columns[0]
        asked = candidate.scalars[1] + candidate.columns[1]
        rows.append(
            (
                candidate.driver.name,
                candidate.driver.kind,
                str(candidate.driver.maturity),
                f"{candidate.score:.2f}",
                f"{answered}/{asked}",
                candidate.reason,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines.append(f"candidates, best first ({len(found.candidates)} with evidence; {tried}):")
    lines += [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + f"  {row[5]}"
        for row in rows
    ]
    return "\n".join(lines)


def _identification_json(address: str, found: Identification) -> dict[str, object]:
    return {
        "address": address,
        "sys_object_id": found.sys_object_id,
        "sys_descr": found.sys_descr,
        "tried": found.tried,
        "incomplete": found.incomplete,
        "candidates": [
            {
                "driver": c.driver.name,
                "title": c.driver.title,
                "kind": c.driver.kind,
                "maturity": str(c.driver.maturity),
                "score": c.score,
                "share": round(c.share, 3),
                "sys_object_id_prefix": c.object_id_prefix,
                "probe": c.probe,
                "scalars": {"answered": c.scalars[0], "asked": c.scalars[1]},
                "columns": {"with_rows": c.columns[0], "asked": c.columns[1]},
                "evidence": list(c.evidence),
            }
            for c in found.candidates
        ],
    }


def _cmd_schema(args: argparse.Namespace) -> int:
    from fieldagent.payloads import PUBLISHED_MODELS

    if args.kind is not None and args.kind not in PUBLISHED_MODELS:
        print(f"unknown kind {args.kind!r} (known: {', '.join(PUBLISHED_MODELS)})", file=sys.stderr)
        return 2
    if args.out is not None:
        return _write_schema_folder(args)
    if args.force:
        print("error: --force replaces files written by --out DIR: give --out", file=sys.stderr)
        return EXIT_USAGE
    from fieldagent.schemafiles import schema_of

    # The same schemas as the files of --out (and docs/schema/), $id and title included.
    kinds = [args.kind] if args.kind else list(PUBLISHED_MODELS)
    schemas = {kind: schema_of(kind) for kind in kinds}
    print(json.dumps(schemas[kinds[0]] if args.kind else schemas, indent=2, sort_keys=True))
    return 0


def _write_schema_folder(args: argparse.Namespace) -> int:
    """`schema --out DIR`: every payload's schema file and the index, or nothing."""
    from fieldagent.outputfile import OutputFileError
    from fieldagent.schemafiles import write_folder

    if args.kind is not None:
        print("error: --out writes every kind: leave out KIND", file=sys.stderr)
        return EXIT_USAGE
    try:
        written = write_folder(args.out, args.force)
    except OutputFileError as exc:
        print(f"error: --out {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.out}: {len(written)} files written ({', '.join(written)})")
    return 0


def _cmd_monitor(args: argparse.Namespace) -> int:
    from fieldagent.province.feed import BrokerUnavailable
    from fieldagent.province.link import link_settings
    from fieldagent.province.monitor import MonitorOptions, run_monitor

    settings, password = link_settings(args)
    options = MonitorOptions(
        station=args.station,
        once=args.once,
        json=args.json,
        silent_after_s=args.silent_after,
        share=args.share,
        archive=args.archive,
        timeout_s=args.timeout,
        telemetry=not args.no_telemetry,
    )
    try:
        return run_monitor(settings, password, options, sys.stdout)
    except BrokerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _cmd_web(args: argparse.Namespace) -> int:
    missing = [o for o, v in (("--broker", args.broker), ("--passwords", args.passwords)) if not v]
    if missing:
        needed = " and ".join(missing)
        raise ConfigError(
            [f"web: {needed} needed (a password file: fieldagent web passwd FILE USER)"]
        )
    from fieldagent.province.link import link_settings
    from fieldagent.web.command import WebOptions, run_web

    settings, password = link_settings(args)
    options = WebOptions(
        passwords=args.passwords,
        listen=args.listen,
        station=args.station,
        share=args.share,
        archive=args.archive,
        silent_after_s=args.silent_after,
        cookie_secure=args.cookie_secure,
        settle_s=args.timeout,
    )
    return run_web(settings, password, options)


def _cmd_web_passwd(args: argparse.Namespace) -> int:
    from fieldagent.web.passwd import run_passwd

    return run_passwd(args.file, args.user, sys.stdin, sys.stderr)


def _cmd_readiness(args: argparse.Namespace) -> int:
    from datetime import date, timedelta

    from fieldagent.outputfile import OutputFileError, refusal, write_output
    from fieldagent.province.feed import BrokerUnavailable
    from fieldagent.province.gather import ReadinessOptions, collect
    from fieldagent.province.link import link_settings
    from fieldagent.province.readiness import read_stations, render_csv, render_json, render_text
    from fieldagent.province.readiness_html import readiness_html

    if args.output is not None and (problem := refusal(args.output, args.force)):
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        since = date.fromisoformat(args.since) if args.since else date.today() - timedelta(days=14)
    except ValueError:
        print(
            f"error: --since {args.since!r}: a date is expected, e.g. 2026-12-20", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        stations = read_stations(args.stations) if args.stations else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings, password = link_settings(args)
    options = ReadinessOptions(args.holiday, since, args.archive, stations, timeout_s=args.timeout)
    try:
        readiness = collect(settings, password, options)
    except BrokerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.format == "html":
        text = readiness_html(readiness, args.department, args.province)
    elif args.format == "csv":
        text = render_csv(readiness)
    elif args.format == "json":
        text = render_json(readiness)
    else:
        text = render_text(readiness)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        write_output(args.output, text.encode(), args.force)
    except OutputFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_OS_ERROR
    return 0


def _cmd_profile_new(args: argparse.Namespace) -> int:
    from fieldagent.outputfile import OutputFileError, refusal, write_output
    from fieldagent.profiles.draft import DraftError, draft, profile_name
    from fieldagent.profiles.mibs import MibError, MibIndex, compile_mibs
    from fieldagent.profiles.walk import WalkError, read_walk

    output: Path | None = args.output
    name = args.name or profile_name(output or args.from_walk)
    usage = _profile_usage_problem(name, args.kind)
    if usage is None and output is not None:
        problem = refusal(output, args.force)
        usage = None if problem is None else f"--output {problem}"
    if usage is not None:
        print(f"error: {usage}", file=sys.stderr)
        return EXIT_USAGE
    try:
        entries = read_walk(args.from_walk)
        mib: MibIndex | None = compile_mibs(args.mib) if args.mib else None
    except (WalkError, MibError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    base = (output.parent if output is not None else Path()).absolute()
    mib_files = [os.path.relpath(path.absolute(), base) for path in args.mib]
    try:
        drafted = draft(entries, mib, name, args.kind, str(args.from_walk), mib_files)
    except DraftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for warning in drafted.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if output is None:
        print(drafted.text, end="")
        return 0
    try:
        write_output(output, drafted.text.encode("utf-8"), args.force)
    except OutputFileError as exc:
        print(f"error: --output {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{output}: profile {name} drafted, {drafted.metrics} metrics: rename them, delete"
        " what nobody needs, set limits"
    )
    return 0


def _profile_usage_problem(name: str, kind: str) -> str | None:
    """Why --name or --kind cannot name a profile, or None."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", name):
        return f"--name {name!r}: lower case letters, digits and _, starting with a letter"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", kind):
        return f"--kind {kind!r}: lower case letters, digits and _, starting with a letter"
    return None
