"""The station file: one TOML document, validated into typed settings.

Every problem is reported at once, each as ``FILE: key.path: what is wrong``,
so a technician on a slow link fixes the file in one pass, not one error per
restart.  Unknown keys are errors (a typo must not silently become a default).
"""

from __future__ import annotations

import difflib
import ipaddress
import itertools
import math
import os
import re
import stat
import tomllib
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from fieldagent import tomlfile
from fieldagent.checklist.definition import where
from fieldagent.checklist.settings import ChecklistSection
from fieldagent.configbase import DEFAULT_CONFIG_PATH as DEFAULT_CONFIG_PATH
from fieldagent.configbase import ConfigError as ConfigError
from fieldagent.driver import Driver, Limits, Metric, ValueType, split_row_key
from fieldagent.inputfile import InputFileError, read_text
from fieldagent.remote.settings import RemoteSection

MAX_STATION_FILE_BYTES = 4 * 1024 * 1024
"""A station of a few hundred devices is tens of kB; more is not a station file."""

TOPIC_SAFE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
TopicSafeId = Annotated[str, StringConstraints(pattern=TOPIC_SAFE)]
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class _Strict(BaseModel):
    # hide_input_in_errors: str(ValidationError) would print a password or community given.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )


OFF = "off"
"""A limit given as "off": the driver's default for that limit is removed."""

MAX_DELAY_S = 86400.0


def _limit_value(value: Any) -> Any:
    """One limit: a number, or "off"; one clear message for anything else."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == OFF:
        return OFF
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f'a limit is a number, or "off" to remove the driver\'s limit (got {value!r:.40})'
        )
    if not math.isfinite(value):
        raise ValueError("a limit must be a finite number")
    return float(value)


LimitValue = Annotated[float | Literal["off"] | None, BeforeValidator(_limit_value)]
StateLevel = Literal["ok", "warning", "critical"]
LIMIT_NAMES = ("warn_low", "crit_low", "warn_high", "crit_high")


def limits_order_problem(limits: Limits) -> str | None:
    """What is wrong with the order of a metric's limits, or None.

    From low to high: crit_low <= warn_low < warn_high <= crit_high (unset
    limits are skipped); a warning limit may equal its critical one.
    """
    ordered = [
        (name, getattr(limits, name))
        for name in ("crit_low", "warn_low", "warn_high", "crit_high")
        if getattr(limits, name) is not None
    ]
    for (low_name, low), (high_name, high) in itertools.pairwise(ordered):
        across = low_name.endswith("_low") and high_name.endswith("_high")
        if low > high or (across and low == high):
            relation = "below" if across else "at most"
            return f"{low_name} ({low:g}) must be {relation} {high_name} ({high:g})"
    return None


class LimitRule(_Strict):
    """Alarm settings of one metric: what a `[limits."KEY"]` or `[device.limits."KEY"]` table holds.

    Every key is optional: what is not given comes from the wider level
    (station-wide `[limits]`, then the driver's defaults).
    """

    warn_low: LimitValue = None
    crit_low: LimitValue = None
    warn_high: LimitValue = None
    crit_high: LimitValue = None
    deadband: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    delay_s: float | None = Field(default=None, ge=0, le=MAX_DELAY_S, allow_inf_nan=False)
    clear_delay_s: float | None = Field(default=None, ge=0, le=MAX_DELAY_S, allow_inf_nan=False)
    states: dict[str, StateLevel] = Field(default_factory=dict)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        problem = limits_order_problem(self.apply_to(Limits()))
        if problem is not None:
            raise ValueError(problem)
        return self

    def apply_to(self, limits: Limits) -> Limits:
        """`limits` with this rule's limits laid over it ("off" removes one)."""
        changes: dict[str, float | None] = {}
        for name in LIMIT_NAMES:
            value = getattr(self, name)
            if value is not None:
                changes[name] = None if value == OFF else float(value)
        return replace(limits, **changes)


class StationSection(_Strict):
    id: TopicSafeId = Field(description="Topic-safe station id, used in every MQTT topic.")
    name: str = Field(min_length=1, description="Human name of the station (UTF-8).")
    timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Asia/Ho_Chi_Minh')") from None
        return value


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


DEFAULT_STOP_FLUSH_S = 5.0
"""How long a stopping agent sends its backlog: well under the unit's TimeoutStopSec (30 s)."""


class AgentSection(_Strict):
    state_dir: Path = Path("/var/lib/fieldagent")
    log_level: LogLevel = LogLevel.INFO
    debug_devices: list[TopicSafeId] = Field(
        default_factory=list,
        description="Device ids whose polls are logged at debug level (requests, answers,"
        " decoded readings), whatever log_level says for the rest.",
    )
    stop_flush_s: float = Field(
        default=DEFAULT_STOP_FLUSH_S,
        ge=0,
        le=20,
        allow_inf_nan=False,
        description="On SIGTERM, how long the outbox may still send before the agent exits;"
        " what is left stays in state.db for the next start.",
    )


DEFAULT_OUTBOX_MB = 720
"""Seven days of the demo station's telemetry (11 devices every 5 s): 701 MiB measured by
bench/sd_writes.py, rounded up."""


class OutboxSection(_Strict):
    max_mb: float = Field(
        default=DEFAULT_OUTBOX_MB,
        ge=1,
        le=1_000_000,
        allow_inf_nan=False,
        description="Size limit of the backlog; above it telemetry is thinned.",
    )
    thin_keep_one_in: int = Field(
        default=4, ge=2, le=1000, description="Thinning keeps one reading in N per device."
    )
    commit_interval_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        allow_inf_nan=False,
        description="Telemetry is written in one batch this often (alarms at once, with fsync).",
    )

    @property
    def limit_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


class TelemetrySection(_Strict):
    """`[telemetry]`: how readings travel (docs/mqtt-topics.md: contract versions)."""

    format: Literal["compact", "full"] = Field(
        default="compact",
        description=(
            "compact: report by exception against each metric's deadband, a full snapshot"
            " every snapshot_interval_s, units in the retained meta message (contract v2);"
            " full: every reading of every poll with its unit (contract v1)."
        ),
    )
    snapshot_interval_s: float = Field(
        default=300.0,
        ge=10,
        le=86400,
        allow_inf_nan=False,
        description="Compact form: every device's whole set of values at least this often.",
    )


class MqttSection(_Strict):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_verify: bool = True
    allow_plaintext: bool = Field(
        default=False,
        description="Allow mqtt:// (no TLS) to a broker that is not on this machine.",
    )
    topic_root: str = "bctv/v1"
    keepalive: int = Field(default=60, ge=5, le=3600)
    client_id: str | None = None
    telemetry_qos: Literal[0, 1] = 1
    reconnect_min_s: float = Field(default=1.0, ge=0.1, le=60)
    reconnect_max_s: float = Field(default=60.0, ge=1, le=3600)
    protocol: Literal["3.1.1", "5"] = Field(
        default="3.1.1", description="MQTT protocol version spoken to the broker."
    )
    max_inflight: int = Field(
        default=100,
        ge=1,
        le=65535,
        description="Messages handed to the broker and not yet acknowledged, at most.",
    )
    persistent_session: bool = Field(
        default=False,
        description="Keep the broker session across reconnects (fixed client id, clean start off).",
    )
    session_expiry_s: int = Field(
        default=7 * 86400,
        ge=0,
        le=0xFFFFFFFF,
        description="MQTT 5: how long the broker keeps a persistent session after a disconnect.",
    )
    homeassistant_discovery: bool = Field(
        default=False,
        description="Announce each device to Home Assistant (MQTT device-based discovery).",
    )
    homeassistant_prefix: str = Field(
        default="homeassistant", description="Home Assistant's discovery prefix."
    )
    homeassistant_status_topic: str = Field(
        default="homeassistant/status",
        description="Where Home Assistant says `online` when it starts: discovery is sent again.",
    )

    @field_validator("homeassistant_prefix", "homeassistant_status_topic")
    @classmethod
    def _homeassistant_topic(cls, value: str) -> str:
        if not value or any(c in value for c in "+#\0") or value.startswith("/"):
            raise ValueError(f"{value!r}: must be non-empty, without '+', '#' or a leading '/'")
        return value.rstrip("/")

    @field_validator("url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.username is not None or parts.password is not None:
            # Would be ignored, and echoed (password included) in messages and logs.
            raise ValueError("no user name or password in the URL: use username and password_file")
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"{value!r}: the scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"{value!r}: no host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{value!r}: the port must be a number from 1 to 65535") from None
        if port == 0:
            raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"{value!r}: no path or query is allowed in the broker URL")
        return value

    @field_validator("topic_root")
    @classmethod
    def _topic_root(cls, value: str) -> str:
        if not value or any(c in value for c in "+#\0") or value.startswith("/"):
            raise ValueError(f"{value!r}: must be non-empty, without '+', '#' or a leading '/'")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give either password or password_file, not both")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not be greater than reconnect_max_s")
        return self

    @model_validator(mode="after")
    def _plaintext_only_on_loopback(self) -> Self:
        if self.plaintext_remote and not self.allow_plaintext:
            raise ValueError(
                f"{self.url} would send the broker password and every message unencrypted over"
                " the network: use mqtts://, or set allow_plaintext = true if the link is private"
            )
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def plaintext_remote(self) -> bool:
        """mqtt:// to a broker that is not on this machine (127.0.0.0/8, ::1, localhost)."""
        if self.tls or self.host.lower() == "localhost":
            return False
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name
            return True

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    def resolved_password(self) -> str | None:
        """The broker password, reading password_file when that is how it is given."""
        if self.password_file is None:
            return self.password
        return read_secret_file(self.password_file)


def read_secret_file(path: Path) -> str:
    """Read a secret, refusing a file that other users can read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read secret file: {exc.strerror}"]) from None
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise ConfigError(
            [f"{path}: secret file is readable by other users; run: chmod 600 {path}"]
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read secret file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: secret file is not UTF-8 text"]) from None


class SnmpVersion(StrEnum):
    V1 = "1"
    V2C = "2c"
    V3 = "3"


class AuthProtocol(StrEnum):
    SHA = "SHA"
    SHA256 = "SHA-256"


class PrivProtocol(StrEnum):
    AES128 = "AES-128"


SERIAL_PROTOCOLS = frozenset({"ascii", "modbus"})
"""Driver protocols spoken over a serial line (they need `serial_port`)."""

MIN_KEY_LENGTH = 8
"""RFC 3414: SNMPv3 passphrases shorter than this are refused by agents."""

DEFAULT_COMMUNITY = "public"
"""The community every SNMP device ships with: everyone knows it, so it protects nothing."""


@dataclass(frozen=True)
class SnmpCredentials:
    """Who the poller says it is, and whom a simulator answers: one value for both ends.

    The rules are the protocol's own (RFC 3414 / 3415): a v3 user, auth and
    priv each with their key, no privacy without authentication, no v3 keys
    on v1 / v2c.  Messages name the station-file keys.
    """

    version: SnmpVersion = SnmpVersion.V2C
    community: str = field(default=DEFAULT_COMMUNITY, repr=False)
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.version is not SnmpVersion.V3:
            v3_keys = [
                k
                for k in ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key")
                if getattr(self, k) is not None
            ]
            if v3_keys:
                raise ValueError(f"{', '.join(v3_keys)} only apply to snmp_version 3")
            return
        if not self.user:
            raise ValueError("snmp_version 3 needs user")
        if (self.auth_protocol is None) != (self.auth_key is None):
            raise ValueError("auth_protocol and auth_key go together")
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("priv_protocol and priv_key go together")
        if self.priv_protocol is not None and self.auth_protocol is None:
            raise ValueError("privacy (priv_protocol) needs authentication (auth_protocol)")
        if any(k is not None and len(k) < MIN_KEY_LENGTH for k in (self.auth_key, self.priv_key)):
            raise ValueError(f"SNMPv3 keys need at least {MIN_KEY_LENGTH} characters (RFC 3414)")

    @property
    def security_level(self) -> str:
        """The USM / VACM level: noAuthNoPriv, authNoPriv or authPriv."""
        if self.priv_protocol is not None:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol is not None else "noAuthNoPriv"


TRAP_PORT = 162
"""The standard SNMP trap port (below 1024: it needs CAP_NET_BIND_SERVICE)."""


class TrapsSection(BaseModel):
    """`[traps]`: the SNMP trap receiver's settings.

    `enabled` is the agent's switch (off by default: port 162 and the devices'
    trap destinations are set up on purpose); TrapReceiver itself ignores it.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )

    enabled: bool = False
    listen: str | None = Field(
        default=None,
        description="IP address to listen on (0.0.0.0 every IPv4 address, :: every address); "
        "not given: the one local address the devices are reached from, or every address "
        "when they are reached from several.",
    )
    port: int = Field(
        default=TRAP_PORT, ge=0, le=65535, description="UDP port; 0 picks a free one (tests)."
    )
    communities: list[str] = Field(
        default_factory=list,
        repr=False,
        description="Trap communities accepted from every device, besides the community of "
        "each device polled over v1/v2c.",
    )
    rate_limit: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Datagrams per sender per window; more is a flood.",
    )
    rate_window_s: float = Field(default=10.0, gt=0, le=3600, allow_inf_nan=False)
    station_rate_limit: int = Field(
        default=200,
        ge=1,
        le=1_000_000,
        description="Datagrams per window from every sender together; more is a flood of "
        "the trap port, whatever their source addresses.",
    )
    engine_ids: dict[TopicSafeId, str] = Field(
        default_factory=dict,
        description="Device id -> the SNMPv3 engine id its traps must carry (hex).",
    )

    @field_validator("listen")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address (0.0.0.0 for every interface)"
            ) from None

    @field_validator("communities")
    @classmethod
    def _communities(cls, value: list[str]) -> list[str]:
        # Communities are secrets: the messages never echo them.
        if any(not community for community in value):
            raise ValueError("a community cannot be empty")
        if len(set(value)) != len(value):
            raise ValueError("a community is listed twice")
        return value

    @field_validator("engine_ids")
    @classmethod
    def _engine_ids(cls, value: dict[str, str]) -> dict[str, str]:
        return {device: engine_id_hex(text) for device, text in value.items()}


def engine_id_hex(text: str) -> str:
    """An SNMP engine id as lowercase hex; accepts 0x, colons and spaces."""
    digits = text.strip().lower().removeprefix("0x").replace(":", "").replace(" ", "")
    try:
        octets = bytes.fromhex(digits)
    except ValueError:
        raise ValueError(f"engine id {text!r} is not hexadecimal") from None
    if not 5 <= len(octets) <= 32:
        raise ValueError(f"engine id {text!r} must be 5 to 32 octets, not {len(octets)}")
    return octets.hex()


class Parity(StrEnum):
    NONE = "N"
    EVEN = "E"
    ODD = "O"


EXAMPLE_UNTIL_HINT = "give a date and time with its UTC offset, e.g. 2026-12-01T08:00:00+07:00"

STANDARD_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class _DeviceBase(_Strict):
    """What every device has, whatever its protocol: identity, polling, alarms."""

    protocol: ClassVar[str]
    """The driver protocol this section is for (`Driver.protocol`)."""

    id: TopicSafeId
    driver: str
    name: str | None = None
    interval: float = Field(default=10.0, ge=1.0, le=86400)
    timeout: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=3, ge=1, le=100)
    scaling: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    deadband: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    """Metric key -> this device's report deadband, in the metric's unit (the driver's
    `Metric.deadband` otherwise)."""
    limits: dict[str, LimitRule] = Field(default_factory=dict)
    maintenance_until: datetime | None = None

    @field_validator("maintenance_until", mode="before")
    @classmethod
    def _date_and_time(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            raise ValueError(f"{EXAMPLE_UNTIL_HINT} (got a date without a time)")
        return value

    @field_validator("maintenance_until")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{EXAMPLE_UNTIL_HINT} (got no offset)")
        return value

    @property
    def display_name(self) -> str:
        return self.name or self.id


class SnmpDevice(_DeviceBase):
    """A device read over SNMP: its address, port and credentials."""

    protocol: ClassVar[str] = "snmp"

    host: str
    port: int = Field(default=161, ge=1, le=65535)
    snmp_version: SnmpVersion = SnmpVersion.V2C
    community: str | None = Field(default=None, repr=False)
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: str | None = Field(default=None, min_length=MIN_KEY_LENGTH, repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = Field(default=None, min_length=MIN_KEY_LENGTH, repr=False)
    request_retries: int = Field(default=1, ge=0, le=10)

    @field_validator("snmp_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # `snmp_version = 1` and `= 3` are natural to write; accept them as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOSTNAME.match(value):
                raise ValueError(f"{value!r} is neither an IP address nor a host name") from None
        return value

    @model_validator(mode="after")
    def _snmp_security(self) -> Self:
        if self.snmp_version is SnmpVersion.V3 and self.community is not None:
            raise ValueError("community is not used with snmp_version 3; set user instead")
        self.snmp_credentials  # noqa: B018 (building it applies the protocol's rules)
        return self

    @property
    def address(self) -> str:
        """The host the device's SNMP agent is at."""
        return self.host

    @property
    def location(self) -> str:
        """Where it answers, as a technician names it."""
        return f"{self.host}:{self.port}"

    @property
    def snmp_credentials(self) -> SnmpCredentials:
        return SnmpCredentials(
            version=self.snmp_version,
            community=self.effective_community,
            user=self.user,
            auth_protocol=self.auth_protocol,
            auth_key=self.auth_key,
            priv_protocol=self.priv_protocol,
            priv_key=self.priv_key,
        )

    @property
    def effective_community(self) -> str:
        return self.community if self.community is not None else DEFAULT_COMMUNITY


class SerialDevice(_DeviceBase):
    """A device on a serial line: the port and how the line is set."""

    serial_port: Path
    baud: int = 9600
    data_bits: Literal[7, 8] = 8
    parity: Parity = Parity.NONE
    stop_bits: Literal[1, 2] = 1
    rs485: bool = False
    gap_ms: float = Field(default=20.0, ge=0, le=5000)

    @field_validator("baud")
    @classmethod
    def _baud(cls, value: int) -> int:
        if value not in STANDARD_BAUDS:
            raise ValueError(
                f"{value} is not a standard rate ({', '.join(map(str, STANDARD_BAUDS))})"
            )
        return value

    @property
    def address(self) -> str:
        """The serial port's path."""
        return str(self.serial_port)

    @property
    def location(self) -> str:
        """Where it answers, as a technician names it."""
        return self.address


class AsciiDevice(SerialDevice):
    """A device that speaks the ASCII command dialect on a serial line."""

    protocol: ClassVar[str] = "ascii"


class ModbusDevice(SerialDevice):
    """A Modbus RTU slave on a serial line: the line, and the device's unit (slave) address."""

    protocol: ClassVar[str] = "modbus"

    unit: int = Field(default=1, ge=1, le=247)

    @property
    def location(self) -> str:
        return f"{self.serial_port} (unit {self.unit})"


class LocalDevice(_DeviceBase):
    """This box itself: nothing to reach; `host` may only name it."""

    protocol: ClassVar[str] = "local"

    host: str = "localhost"

    @field_validator("host")
    @classmethod
    def _this_box(cls, value: str) -> str:
        if value.lower() != "localhost" and not _is_loopback(value):
            raise ValueError(
                f"{value!r} is not this box: a local device is read here (localhost, 127.0.0.1"
                " or ::1, or leave host out)"
            )
        return value

    @property
    def address(self) -> str:
        """This box, as the file names it."""
        return self.host

    @property
    def location(self) -> str:
        """Where it answers, as a technician names it."""
        return self.host


def _is_loopback(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


DEVICE_MODELS: Mapping[str, type[_DeviceBase]] = {
    model.protocol: model for model in (SnmpDevice, AsciiDevice, ModbusDevice, LocalDevice)
}
"""The `[[device]]` model of each driver protocol."""

PROTOCOL_NAMES: Mapping[str, tuple[str, str]] = {
    "snmp": ("an", "SNMP"),
    "ascii": ("a", "serial ASCII"),
    "modbus": ("a", "Modbus"),
    "local": ("a", "local"),
}
"""How messages name the devices of each protocol (with the article)."""

_known_drivers: ContextVar[Mapping[str, Driver] | None] = ContextVar(
    "fieldagent_known_drivers", default=None
)
"""The drivers a station file is checked against while `parse_config` validates it."""


def _drivers() -> Mapping[str, Driver]:
    known = _known_drivers.get()
    if known is not None:
        return known
    from drivers import REGISTRY  # the registry imports every driver: only when needed

    return REGISTRY


def device_protocol(value: Any) -> str:
    """Which model a `[[device]]` block is read with: its driver's protocol.

    A block whose driver is unknown (reported on its own) is read by its keys,
    so its other problems are still found.
    """
    if isinstance(value, _DeviceBase):
        return value.protocol
    if not isinstance(value, dict):
        return "snmp"  # the model says it is not a table
    name = value.get("driver")
    driver = _drivers().get(name) if isinstance(name, str) else None
    if driver is not None and driver.protocol in DEVICE_MODELS:
        return driver.protocol
    if "serial_port" in value:
        return "modbus" if "unit" in value else "ascii"
    return "snmp"


DeviceSection = Annotated[
    Annotated[SnmpDevice, Tag("snmp")]
    | Annotated[AsciiDevice, Tag("ascii")]
    | Annotated[ModbusDevice, Tag("modbus")]
    | Annotated[LocalDevice, Tag("local")],
    Discriminator(device_protocol),
]
"""One `[[device]]`: a model per driver protocol, chosen by the driver's protocol."""

_DEVICE = TypeAdapter[DeviceSection](DeviceSection)


def parse_device(fields: Mapping[str, Any]) -> DeviceSection:
    """One device section from its keys (tests, `identify`), read as a station file reads it."""
    return _DEVICE.validate_python(dict(fields))


_LINE_SETTINGS = ("baud", "data_bits", "parity", "stop_bits", "rs485")
"""What a serial line is opened with: every device on one port must agree on it."""


def _serial_line_conflict(devices: Sequence[DeviceSection]) -> str | None:
    """Why devices sharing a serial port cannot work on it, or None.

    The agent opens a port once (with one device's settings) and the devices on
    it take turns: they must speak one protocol at one setting, each Modbus unit
    once, and the ASCII dialect, which has no address, one device per line.
    """
    lines: dict[Path, list[SerialDevice]] = {}
    for device in devices:
        if isinstance(device, SerialDevice):
            lines.setdefault(device.serial_port, []).append(device)
    for port, on_line in lines.items():
        first, *others = on_line
        for other in others:
            pair = f"devices {first.id!r} and {other.id!r} share serial_port {port}"
            if other.protocol != first.protocol:
                protocols = f"{first.protocol} and {other.protocol}"
                return f"{pair} but speak {protocols}: one line, one protocol"
            differ = [
                f"{name} {getattr(first, name)} and {getattr(other, name)}"
                for name in _LINE_SETTINGS
                if getattr(first, name) != getattr(other, name)
            ]
            if differ:
                return f"{pair} with different settings ({', '.join(differ)}): a line has one"
            if isinstance(first, AsciiDevice):
                return f"{pair}: the ASCII dialect has no address, so one device per line"
        units: dict[int, str] = {}
        for slave in on_line:
            if isinstance(slave, ModbusDevice):
                if slave.unit in units:
                    return (
                        f"devices {units[slave.unit]!r} and {slave.id!r} are both unit"
                        f" {slave.unit} on serial_port {port}: each Modbus unit once per line"
                    )
                units[slave.unit] = slave.id
    return None


class Config(_Strict):
    """A whole station file."""

    station: StationSection
    agent: AgentSection = AgentSection()
    mqtt: MqttSection = MqttSection()
    telemetry: TelemetrySection = TelemetrySection()
    outbox: OutboxSection = OutboxSection()
    checklist: ChecklistSection = ChecklistSection()
    device: list[DeviceSection] = Field(default_factory=list)
    traps: TrapsSection = TrapsSection()
    remote: RemoteSection = RemoteSection()
    limits: dict[str, LimitRule] = Field(default_factory=dict)

    @field_validator("device")
    @classmethod
    def _unique_device_ids(cls, devices: list[DeviceSection]) -> list[DeviceSection]:
        # A field validator, so the message names `device`, not the top level.
        seen: dict[str, int] = {}
        for index, device in enumerate(devices):
            if device.id in seen:
                raise ValueError(
                    f"duplicate device id {device.id!r} (device[{seen[device.id]}] and"
                    f" device[{index}])"
                )
            seen[device.id] = index
        problem = _serial_line_conflict(devices)
        if problem is not None:
            raise ValueError(problem)
        return devices

    @model_validator(mode="after")
    def _trap_engine_ids_name_devices(self) -> Self:
        ids = {device.id for device in self.device}
        unknown = sorted(set(self.traps.engine_ids) - ids)
        if unknown:
            raise ValueError(f"traps.engine_ids names no configured device: {', '.join(unknown)}")
        return self

    def find_device(self, device_id: str) -> DeviceSection:
        for device in self.device:
            if device.id == device_id:
                return device
        known = ", ".join(d.id for d in self.device) or "none"
        raise KeyError(f"no device {device_id!r} in the config (devices: {known})")


def load_config(path: Path, known_drivers: Mapping[str, Driver] | None = None) -> Config:
    """Read and validate a station file; raise ConfigError listing every problem."""
    try:
        data = tomlfile.loads(read_text(path, MAX_STATION_FILE_BYTES, strict=True))
    except InputFileError as exc:
        raise ConfigError([str(exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: TOML syntax: {exc}"]) from None
    return _resolve_paths(parse_config(data, str(path), known_drivers), path.parent)


def parse_config(
    data: dict[str, Any], source: str, known_drivers: Mapping[str, Driver] | None = None
) -> Config:
    """Validate already-parsed TOML data; `source` names it in messages.

    With `known_drivers`, driver names and the metric keys a device's
    `scaling` names are checked against the drivers' declarations too.
    """
    problems: list[str] = []
    config: Config | None = None
    token = _known_drivers.set(known_drivers)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(source, data, error) for error in exc.errors())
    finally:
        _known_drivers.reset(token)
    devices = data.get("device")
    if known_drivers is not None and isinstance(devices, list):
        for index, device in enumerate(devices):
            if isinstance(device, dict):
                where = f"{source}: {_device_label(data, index)}"
                problems.extend(_driver_problems(where, device, known_drivers))
    station_limits = data.get("limits")
    if known_drivers is not None and isinstance(station_limits, dict):
        problems.extend(_station_limit_problems(f"{source}: limits", station_limits, known_drivers))
    if config is not None and known_drivers is not None and not problems:
        problems.extend(_merged_limit_problems(source, config, known_drivers))
    if config is not None:
        problems.extend(_debug_device_problems(source, config))
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _debug_device_problems(source: str, config: Config) -> list[str]:
    """`[agent] debug_devices` names devices of this file (a typo would debug nothing)."""
    ids = {device.id for device in config.device}
    known = ", ".join(sorted(ids)) or "none"
    return [
        f"{source}: agent.debug_devices: no device {device_id!r} in the station file"
        f" (devices: {known})"
        for device_id in config.agent.debug_devices
        if device_id not in ids
    ]


def _driver_problems(
    where: str, device: dict[str, Any], known_drivers: Mapping[str, Driver]
) -> list[str]:
    name = device.get("driver")
    if not isinstance(name, str):
        return []
    driver = known_drivers.get(name)
    if driver is None:
        hint = suggest(name, frozenset(known_drivers))
        known = ", ".join(sorted(known_drivers))
        return [f"{where}.driver: unknown driver {name!r}{hint} (known: {known})"]
    problems = []
    scaling = device.get("scaling")
    metric_keys = frozenset(m.key for m in driver.metrics)
    problems += [
        f"{where}.scaling: driver {name} has no metric {key!r}{suggest(key, metric_keys)}"
        for key in (scaling if isinstance(scaling, dict) else {})
        if key not in metric_keys
    ]
    deadband = device.get("deadband")
    for key in deadband if isinstance(deadband, dict) else {}:
        problem = _deadband_key_problem(key, driver)
        if problem is not None:
            problems.append(f"{where}.deadband.{key}: {problem}")
    limits = device.get("limits")
    for key, rule in (limits if isinstance(limits, dict) else {}).items():
        problems.extend(_device_limit_problems(f"{where}.limits.{key}", key, rule, driver))
    return problems


def _deadband_key_problem(key: str, driver: Driver) -> str | None:
    """A `deadband` key names a number metric of the device's driver (all its rows)."""
    metric = next((m for m in driver.metrics if m.key == key), None)
    if metric is None:
        keys = frozenset(m.key for m in driver.metrics)
        return f"driver {driver.name} has no metric {key!r}{suggest(key, keys)}"
    if metric.type is not ValueType.NUMBER:
        return f"{key} is a {metric.type} (any change is reported): only a number has a deadband"
    return None


def _device_limit_problems(where: str, key: str, rule: Any, driver: Driver) -> list[str]:
    """A `[device.limits."KEY"]` names a metric (or one row of a table metric) of the driver."""
    parts = split_row_key(key)
    base = parts[0] if parts else key
    metric = next((m for m in driver.metrics if m.key == base), None)
    if metric is None:
        keys = frozenset(m.key for m in driver.metrics)
        if "[" in key and parts is None:
            return [f"{where}: a table row is written KEY[label=index], e.g. 'ird.cn_db[input=2]'"]
        return [f"{where}: driver {driver.name} has no metric {base!r}{suggest(base, keys)}"]
    if parts is not None and metric.table is None:
        return [f"{where}: {base} is a single value, not a table: write {base!r} without [...]"]
    if parts is not None and parts[1] != metric.table:
        return [f"{where}: rows of {base} are named [{metric.table}=...], not [{parts[1]}=...]"]
    return _rule_fit_problems(where, key, metric, rule)


def _station_limit_problems(
    where: str, limits: dict[str, Any], known_drivers: Mapping[str, Driver]
) -> list[str]:
    """A top-level `[limits."KEY"]` names a metric key that some driver declares."""
    problems: list[str] = []
    all_keys = frozenset(m.key for d in known_drivers.values() for m in d.metrics)
    for key, rule in limits.items():
        here = f"{where}.{key}"
        if split_row_key(key) is not None:
            problems.append(
                f"{here}: a station-wide limit names a metric, not a table row; give a row's"
                f' limits under its device ([device.limits."{key}"])'
            )
            continue
        metrics = [m for d in known_drivers.values() for m in d.metrics if m.key == key]
        if not metrics:
            problems.append(f"{here}: no driver has a metric {key!r}{suggest(key, all_keys)}")
            continue
        for metric in metrics:
            problems.extend(
                p for p in _rule_fit_problems(here, key, metric, rule) if p not in problems
            )
    return problems


_NUMERIC = (ValueType.NUMBER, ValueType.COUNTER)


def _rule_fit_problems(where: str, key: str, metric: Metric, rule: Any) -> list[str]:
    """Limits fit numbers (and counter rates); states fit enums and true/false values."""
    if not isinstance(rule, dict):
        return []  # the model reports the wrong type
    if metric.type is ValueType.TEXT:
        return [f"{where}: {key} is a text value: it has no limits or states to set"]
    problems: list[str] = []
    numeric_keys = [k for k in (*LIMIT_NAMES, "deadband") if k in rule]
    if metric.type not in _NUMERIC and numeric_keys:
        kind = "an enum" if metric.type is ValueType.ENUM else "a true/false value"
        problems.append(
            f"{where}: {key} is {kind}: {', '.join(numeric_keys)} do not apply; use states"
        )
    states = rule.get("states")
    if metric.type in _NUMERIC and states:
        problems.append(
            f"{where}.states: {key} is a number: states do not apply; use warn_low, crit_low,"
            " warn_high, crit_high"
        )
    elif isinstance(states, dict):
        if metric.type is ValueType.BOOL:
            labels = frozenset({"true", "false"})
        else:
            labels = frozenset(metric.enum.values())
        known = ", ".join(sorted(labels))
        problems += [
            f"{where}.states: {key} has no state {label!r}{suggest(label, labels)} (known: {known})"
            for label in states
            if label not in labels
        ]
    return problems


def _merged_limit_problems(
    source: str, config: Config, known_drivers: Mapping[str, Driver]
) -> list[str]:
    """Each section's limits are in order; they must still be once laid over each other.

    Driver defaults, then the station-wide `[limits]`, then the device's own
    (metric, then row): a warn_high of 1.6 over the driver's crit_high of 1.5
    is only seen here.
    """
    problems: list[str] = []
    for device in config.device:
        driver = known_drivers.get(device.driver)
        if driver is None:
            continue
        keys = list(device.limits) + [k for k in config.limits if k not in device.limits]
        for key in keys:
            parts = split_row_key(key)
            base = parts[0] if parts else key
            metric = next((m for m in driver.metrics if m.key == base), None)
            if metric is None or metric.type not in _NUMERIC:
                continue
            limits = metric.limits
            layers = [config.limits.get(base), device.limits.get(base)]
            if parts is not None:
                layers.append(device.limits.get(key))
            for layer in layers:
                if layer is not None:
                    limits = layer.apply_to(limits)
            problem = limits_order_problem(limits)
            if problem is None:
                continue
            if key in device.limits:
                where = f"{source}: device {device.id!r}.limits.{key}"
            else:
                where = f"{source}: limits.{key}"
            line = (
                f"{where}: with the driver's and station-wide limits of device {device.id},"
                f" {problem}"
            )
            if line not in problems:
                problems.append(line)
    return problems


def _describe(source: str, data: dict[str, Any], error: Any) -> str:
    loc, protocol = _device_model_of(tuple(error["loc"]))
    # A station's own checklist items are named by their id too, as in a checklist file.
    own_item = loc[:2] == ("checklist", "item")
    location = where(data, loc) if own_item else _location(loc, data)
    message = str(error["msg"])
    if error["type"] == "extra_forbidden" and protocol is not None and len(loc) == 3:
        message = _foreign_key(str(loc[-1]), protocol, _device_driver(data, loc[1]))
    elif error["type"] == "missing" and protocol is not None and len(loc) == 3:
        message = "required key is missing" + _ADDRESS_HINTS.get(str(loc[-1]), "")
    elif error["type"] == "extra_forbidden":
        message = "unknown key" + suggest(str(loc[-1]), _siblings(loc))
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif error["type"] == "string_pattern_mismatch":
        message = (
            f"{error['input']!r} is not topic-safe: use letters, digits, '-' and '_' "
            "(at most 64, starting with a letter or digit)"
        )
    elif error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] == "model_type" and "limits" in loc:
        message = (
            'give a table of settings for the metric, e.g. [limits."rf.vswr"] then'
            f" warn_high = 1.5 on its own line (got {error['input']!r:.40})"
        )
    elif (
        "input" in error
        and not isinstance(error["input"], dict | list)
        and not set(map(str, loc)) & _SECRET_KEYS
    ):
        message = f"{message} (got {error['input']!r})"
    return f"{source}: {location or '(top level)'}: {message}"


_ADDRESS_HINTS = {
    "host": ": an SNMP device needs its address (IP address or host name)",
    "serial_port": ": a serial device needs its port"
    " (e.g. /dev/serial/by-id/usb-FTDI_...-if00-port0)",
}


def _device_model_of(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str | None]:
    """A device error's location without the union's tag, and the protocol it named."""
    if len(loc) >= 3 and loc[0] == "device" and isinstance(loc[1], int) and loc[2] in DEVICE_MODELS:
        return (*loc[:2], *loc[3:]), str(loc[2])
    return loc, None


def _device_driver(data: dict[str, Any], index: int) -> str:
    devices = data.get("device")
    block = devices[index] if isinstance(devices, list) and index < len(devices) else None
    name = block.get("driver") if isinstance(block, dict) else None
    return name if isinstance(name, str) else "?"


def _foreign_key(key: str, protocol: str, driver: str) -> str:
    """Why a key does not belong to this device: another protocol's key, or no key at all."""
    owners = [
        PROTOCOL_NAMES[p][1] for p, model in DEVICE_MODELS.items() if key in model.model_fields
    ]
    if not owners:
        return "unknown key" + suggest(key, DEVICE_MODELS[protocol].model_fields)
    article, name = PROTOCOL_NAMES[protocol]
    return (
        f"{key} is not a key of {article} {name} device (driver {driver}):"
        f" it goes with {' and '.join(owners)} devices"
    )


# Values never echoed in messages: they end up in terminals, logs and support chats.
_SECRET_KEYS = frozenset({"password", "community", "communities", "auth_key", "priv_key"})


def _location(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    if len(loc) >= 2 and loc[0] == "device" and isinstance(loc[1], int):
        loc = (_device_label(data, loc[1]), *loc[2:])
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _device_label(data: dict[str, Any], index: int) -> str:
    """`device 'ups1'`: a technician knows devices by id. By position (`device[3]`,
    from 0) only when the block has no usable id or shares it with another."""
    devices = data.get("device")
    blocks = devices if isinstance(devices, list) else []
    ids = [block.get("id") if isinstance(block, dict) else None for block in blocks]
    device_id = ids[index] if index < len(ids) else None
    if isinstance(device_id, str) and device_id and ids.count(device_id) == 1:
        return f"device {device_id!r}"
    return f"device[{index}]"


_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "station": StationSection,
    "agent": AgentSection,
    "mqtt": MqttSection,
    "traps": TrapsSection,
}


def _siblings(loc: tuple[Any, ...]) -> frozenset[str]:
    if len(loc) == 1:
        return frozenset(Config.model_fields)
    station_rule = loc[0] == "limits" and len(loc) == 3
    device_rule = loc[0] == "device" and len(loc) == 5 and loc[2] == "limits"
    if station_rule or device_rule:
        return frozenset(LimitRule.model_fields)
    model = _SECTION_MODELS.get(str(loc[0]))
    return frozenset(model.model_fields) if model else frozenset()


def suggest(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _resolve_paths(config: Config, base: Path) -> Config:
    """Make relative paths in the file relative to the file's own folder, not the cwd.

    systemd starts the agent in /, a technician runs it from anywhere: a path
    must mean the same thing in both cases.
    """

    def fix(value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else (base / value).resolve()

    mqtt = config.mqtt.model_copy(
        update={
            name: fix(getattr(config.mqtt, name))
            for name in ("password_file", "ca_file", "cert_file", "key_file")
        }
    )
    agent = config.agent.model_copy(update={"state_dir": fix(config.agent.state_dir)})
    devices = [
        d.model_copy(update={"serial_port": _absolute(d.serial_port, base)})
        if isinstance(d, SerialDevice)
        else d
        for d in config.device
    ]
    return config.model_copy(update={"mqtt": mqtt, "agent": agent, "device": devices})


def _absolute(value: Path, base: Path) -> Path:
    """Absolute, but not resolved: /dev/serial/by-id links must stay links."""
    # normpath folds "config/../state" lexically, without following any link.
    return value if value.is_absolute() else Path(os.path.normpath(base.resolve() / value))
