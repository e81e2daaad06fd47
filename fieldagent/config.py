"""The station file: one TOML document, validated into typed settings.

Every problem is reported at once, each as ``FILE: key.path: what is wrong``,
so a technician on a slow link fixes the file in one pass, not one error per
restart.  Unknown keys are errors (a typo must not silently become a default).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import stat
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from fieldagent.driver import Driver

DEFAULT_CONFIG_PATH = Path("/etc/fieldagent/station.toml")

TOPIC_SAFE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
TopicSafeId = Annotated[str, StringConstraints(pattern=TOPIC_SAFE)]
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class ConfigError(Exception):
    """A station file that cannot be used; `problems` holds one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


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


class AgentSection(_Strict):
    state_dir: Path = Path("/var/lib/fieldagent")
    log_level: LogLevel = LogLevel.INFO


class MqttSection(_Strict):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_verify: bool = True
    topic_root: str = "bctv/v1"
    keepalive: int = Field(default=60, ge=5, le=3600)
    client_id: str | None = None
    telemetry_qos: Literal[0, 1] = 1
    reconnect_min_s: float = Field(default=1.0, ge=0.1, le=60)
    reconnect_max_s: float = Field(default=60.0, ge=1, le=3600)

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

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

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


@dataclass(frozen=True)
class SnmpCredentials:
    """Who the poller says it is, and whom a simulator answers: one value for both ends.

    The rules are the protocol's own (RFC 3414 / 3415): a v3 user, auth and
    priv each with their key, no privacy without authentication, no v3 keys
    on v1 / v2c.  Messages name the station-file keys.
    """

    version: SnmpVersion = SnmpVersion.V2C
    community: str = "public"
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: str | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = None

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


class Parity(StrEnum):
    NONE = "N"
    EVEN = "E"
    ODD = "O"


STANDARD_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class DeviceSection(_Strict):
    """One device: reached over the network (`host`) or a serial line (`serial_port`)."""

    id: TopicSafeId
    driver: str
    name: str | None = None
    host: str | None = None
    port: int = Field(default=161, ge=1, le=65535)
    serial_port: Path | None = None
    baud: int = 9600
    data_bits: Literal[7, 8] = 8
    parity: Parity = Parity.NONE
    stop_bits: Literal[1, 2] = 1
    rs485: bool = False
    gap_ms: float = Field(default=20.0, ge=0, le=5000)
    unit: int = Field(default=1, ge=1, le=247)
    snmp_version: SnmpVersion = SnmpVersion.V2C
    community: str | None = None
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: str | None = Field(default=None, min_length=MIN_KEY_LENGTH)
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = Field(default=None, min_length=MIN_KEY_LENGTH)
    interval: float = Field(default=10.0, ge=1.0, le=86400)
    timeout: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=3, ge=1, le=100)
    request_retries: int = Field(default=1, ge=0, le=10)
    scaling: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )

    @field_validator("snmp_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # `snmp_version = 1` and `= 3` are natural to write; accept them as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOSTNAME.match(value):
                raise ValueError(f"{value!r} is neither an IP address nor a host name") from None
        return value

    @field_validator("baud")
    @classmethod
    def _baud(cls, value: int) -> int:
        if value not in STANDARD_BAUDS:
            raise ValueError(
                f"{value} is not a standard rate ({', '.join(map(str, STANDARD_BAUDS))})"
            )
        return value

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.host is None) == (self.serial_port is None):
            raise ValueError("give either host (network device) or serial_port (serial device)")
        return self

    @property
    def address(self) -> str:
        """Where the device is: host, or serial port path."""
        return self.host if self.host is not None else str(self.serial_port)

    @model_validator(mode="after")
    def _snmp_security(self) -> Self:
        if self.snmp_version is SnmpVersion.V3 and self.community is not None:
            raise ValueError("community is not used with snmp_version 3; set user instead")
        self.snmp_credentials  # noqa: B018 (building it applies the protocol's rules)
        return self

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
        return self.community if self.community is not None else "public"

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Config(_Strict):
    """A whole station file."""

    station: StationSection
    agent: AgentSection = AgentSection()
    mqtt: MqttSection = MqttSection()
    device: list[DeviceSection] = Field(default_factory=list)

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
        return devices

    def find_device(self, device_id: str) -> DeviceSection:
        for device in self.device:
            if device.id == device_id:
                return device
        known = ", ".join(d.id for d in self.device) or "none"
        raise KeyError(f"no device {device_id!r} in the config (devices: {known})")


def load_config(path: Path, known_drivers: Mapping[str, Driver] | None = None) -> Config:
    """Read and validate a station file; raise ConfigError listing every problem."""
    try:
        raw_text = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        # Windows Notepad may start the file with a byte-order mark; TOML does not allow one.
        data = tomllib.loads(raw_text.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:
        line = raw_text.count(b"\n", 0, exc.start) + 1
        problem = f"{path}: not UTF-8 text (line {line}, byte {exc.start}): save it as UTF-8"
        raise ConfigError([problem]) from None
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
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(source, data, error) for error in exc.errors())
    devices = data.get("device")
    if known_drivers is not None and isinstance(devices, list):
        for index, device in enumerate(devices):
            if isinstance(device, dict):
                problems.extend(
                    _driver_problems(f"{source}: device[{index}]", device, known_drivers)
                )
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _driver_problems(
    where: str, device: dict[str, Any], known_drivers: Mapping[str, Driver]
) -> list[str]:
    name = device.get("driver")
    if not isinstance(name, str):
        return []
    driver = known_drivers.get(name)
    if driver is None:
        hint = _suggest(name, frozenset(known_drivers))
        known = ", ".join(sorted(known_drivers))
        return [f"{where}.driver: unknown driver {name!r}{hint} (known: {known})"]
    problems = []
    one_address = ("host" in device) != ("serial_port" in device)  # else the model says so
    if one_address and driver.protocol == "snmp" and "host" not in device:
        problems.append(f"{where}: driver {name} reads over SNMP: give host (the device's IP)")
    if one_address and driver.protocol in SERIAL_PROTOCOLS and "serial_port" not in device:
        problems.append(
            f"{where}: driver {name} reads a serial line: give serial_port "
            "(e.g. /dev/serial/by-id/usb-FTDI_...-if00-port0)"
        )
    scaling = device.get("scaling")
    metric_keys = frozenset(m.key for m in driver.metrics)
    return problems + [
        f"{where}.scaling: driver {name} has no metric {key!r}{_suggest(key, metric_keys)}"
        for key in (scaling if isinstance(scaling, dict) else {})
        if key not in metric_keys
    ]


def _describe(source: str, data: dict[str, Any], error: Any) -> str:
    location = _location(error["loc"])
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown key" + _suggest(str(error["loc"][-1]), _siblings(error["loc"]))
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif error["type"] == "string_pattern_mismatch":
        message = (
            f"{error['input']!r} is not topic-safe: use letters, digits, '-' and '_' "
            "(at most 64, starting with a letter or digit)"
        )
    elif error["type"] == "missing":
        message = "required key is missing"
    elif (
        "input" in error
        and not isinstance(error["input"], dict | list)
        and not set(error["loc"][-1:]) & _SECRET_KEYS
    ):
        message = f"{message} (got {error['input']!r})"
    return f"{source}: {location or '(top level)'}: {message}"


# Values never echoed in messages: they end up in terminals, logs and support chats.
_SECRET_KEYS = frozenset({"password", "community", "auth_key", "priv_key"})


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "station": StationSection,
    "agent": AgentSection,
    "mqtt": MqttSection,
    "device": DeviceSection,
}


def _siblings(loc: tuple[Any, ...]) -> frozenset[str]:
    if len(loc) == 1:
        return frozenset(Config.model_fields)
    model = _SECTION_MODELS.get(str(loc[0]))
    return frozenset(model.model_fields) if model else frozenset()


def _suggest(word: str, candidates: frozenset[str]) -> str:
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
        d.model_copy(update={"serial_port": _absolute(d.serial_port, base)}) for d in config.device
    ]
    return config.model_copy(update={"mqtt": mqtt, "agent": agent, "device": devices})


def _absolute(value: Path | None, base: Path) -> Path | None:
    """Absolute, but not resolved: /dev/serial/by-id links must stay links."""
    # normpath folds "config/../state" lexically, without following any link.
    return (
        value
        if value is None or value.is_absolute()
        else Path(os.path.normpath(base.resolve() / value))
    )
