"""The SNMP value layer: every SMI type both ways, the special values, the USM tables.

Values go through real BER encoding and decoding (a v1 or v2c response message,
as pysnmp builds and reads it), and, for the transport, through the simulator
over UDP: `to_raw` sees what a device's answer decodes to, not a hand-made object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pyasn1.type.error import ValueConstraintError
from pysnmp.entity import config as snmp_config
from pysnmp.hlapi.v3arch import asyncio as hlapi
from pysnmp.proto import rfc1155, rfc1902, rfc1905
from pysnmp.proto.api import v1, v2c

from fieldagent.config import AuthProtocol, PrivProtocol, SnmpCredentials, SnmpVersion
from fieldagent.driver import (
    Counter,
    Gauge,
    IpAddress,
    Null,
    OidValue,
    Opaque,
    RawValue,
    TimeTicks,
)
from fieldagent.outgoing import json_value
from fieldagent.sim.device import INT32_MAX, INT32_MIN, UINT32_MAX, Oid
from fieldagent.sim.snmp_agent import SnmpSimulator
from fieldagent.snmpvalues import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    auth_protocol,
    is_absent,
    priv_protocol,
    to_raw,
    to_snmp,
)
from fieldagent.transports.snmp import SnmpClient, SnmpTarget

OID = "1.3.6.1.4.1.99999.1.0"


def on_the_wire(value: Any, api: Any = v2c) -> Any:
    """`value` as a device's GET response carries it: BER-encoded, then decoded by pysnmp."""
    pdu = api.GetResponsePDU()
    api.apiPDU.set_defaults(pdu)
    api.apiPDU.set_varbinds(pdu, [(OID, value)])
    message = api.Message()
    api.apiMessage.set_defaults(message)
    api.apiMessage.set_community(message, "public")
    api.apiMessage.set_pdu(message, pdu)
    decoded, rest = decoder.decode(encoder.encode(message), asn1Spec=api.Message())
    assert rest == b""
    return api.apiPDU.get_varbinds(api.apiMessage.get_pdu(decoded))[0][1]


TYPED: list[tuple[RawValue, type[Any]]] = [
    (0, rfc1902.Integer32),
    (INT32_MIN, rfc1902.Integer32),
    (INT32_MAX, rfc1902.Integer32),
    (Counter(0, 32), rfc1902.Counter32),
    (Counter(UINT32_MAX, 32), rfc1902.Counter32),
    (Counter(2**64 - 1, 64), rfc1902.Counter64),
    (Gauge(UINT32_MAX), rfc1902.Gauge32),
    (TimeTicks(8_640_000), rfc1902.TimeTicks),
    (OidValue("1.3.6.1.4.1.99999.7"), rfc1902.ObjectName),
    (IpAddress(bytes([192, 168, 1, 20])), rfc1902.IpAddress),
    (Opaque(bytes([0x9F, 0x78, 0x04, 0x42, 0x28, 0x00, 0x00])), rfc1902.Opaque),
    (b"\x00\xff\x10", rfc1902.OctetString),
    (b"", rfc1902.OctetString),
]
"""Raw values that come back as themselves, type and all, and the SMI type each is served as."""


@pytest.mark.parametrize(("raw", "smi"), TYPED, ids=[repr(raw) for raw, _ in TYPED])
def test_every_smi_type_reads_back_as_the_raw_value_it_is_served_from(
    raw: RawValue, smi: type[Any]
) -> None:
    served = to_snmp(raw)
    assert type(served) is smi
    back = to_raw(on_the_wire(served))
    assert back == raw and type(back) is type(raw)
    if isinstance(raw, Counter):
        assert isinstance(back, Counter) and back.bits == raw.bits


def test_text_and_numbers_with_a_fraction_are_served_as_octets_and_read_as_octets() -> None:
    assert to_raw(on_the_wire(to_snmp("Nhiệt độ cao"))) == "Nhiệt độ cao".encode()
    assert to_raw(on_the_wire(to_snmp(-12.5))) == b"-12.5"


def test_an_octet_string_is_never_guessed_to_be_text() -> None:
    printable = to_raw(on_the_wire(rfc1902.OctetString(b"TX1")))
    assert printable == b"TX1" and type(printable) is bytes
    assert to_raw(on_the_wire(rfc1902.OctetString(b"\xc3\x28\xff"))) == b"\xc3\x28\xff"


def test_bits_is_its_octets() -> None:
    assert to_raw(on_the_wire(rfc1902.Bits(b"\x80\x01"))) == b"\x80\x01"


def test_unsigned32_reads_as_a_gauge_it_shares_its_tag_with() -> None:
    back = to_raw(on_the_wire(rfc1902.Unsigned32(7)))
    assert back == 7 and type(back) is Gauge


@pytest.mark.parametrize(
    ("value", "raw"),
    [
        (rfc1155.IpAddress(bytes([10, 0, 0, 1])), IpAddress(bytes([10, 0, 0, 1]))),
        (rfc1155.Counter(5), Counter(5, 32)),
        (rfc1155.Gauge(6), Gauge(6)),
        (rfc1155.TimeTicks(7), TimeTicks(7)),
        (rfc1155.Opaque(b"\x01"), Opaque(b"\x01")),
        (v1.Integer(-3), -3),
        (v1.OctetString(b"abc"), b"abc"),
        (v1.ObjectIdentifier("1.3.6.1.4.1.99999"), OidValue("1.3.6.1.4.1.99999")),
    ],
    ids=lambda v: type(v).__module__.rsplit(".", 1)[-1] + "." + type(v).__name__,
)
def test_smiv1_types_read_as_their_smiv2_counterparts(value: Any, raw: RawValue) -> None:
    back = to_raw(on_the_wire(value, v1))
    assert back == raw and type(back) is type(raw)


@pytest.mark.parametrize(
    "value",
    [rfc1905.NoSuchObject(), rfc1905.NoSuchInstance(), rfc1905.EndOfMibView(), univ.Null("")],
    ids=["noSuchObject", "noSuchInstance", "endOfMibView", "NULL"],
)
def test_special_values_are_no_value(value: Any) -> None:
    decoded = on_the_wire(value)
    assert is_absent(decoded)
    assert to_raw(decoded) is None


def test_a_served_null_is_read_as_no_value() -> None:
    """The one raw value that does not come back as itself: NULL carries nothing."""
    served = to_snmp(Null())
    assert isinstance(served, univ.Null) and not isinstance(served, rfc1905.NoSuchObject)
    assert to_raw(on_the_wire(served)) is None


def test_present_values_are_not_absent() -> None:
    for raw, _ in TYPED:
        assert not is_absent(on_the_wire(to_snmp(raw)))


def test_an_ip_address_is_shown_dotted() -> None:
    address = to_raw(on_the_wire(rfc1902.IpAddress("10.20.30.40")))
    assert isinstance(address, IpAddress)
    assert str(address) == f"{address}" == "10.20.30.40"
    assert json_value(address) == "10.20.30.40"


def test_trap_varbinds_are_published_as_before() -> None:
    """The receiver used to turn printable UTF-8 (tabs, line ends too) into text before
    publishing; octets now stay bytes and the publishing keeps that rule."""
    assert json_value(b"line one\r\n\tline two") == "line one\r\n\tline two"
    assert json_value("Nhiệt độ cao".encode()) == "Nhiệt độ cao"
    assert json_value(b"\xff") == "\ufffd"
    assert json_value(b"\x00\x01") == "0001"
    assert json_value(Opaque(b"ok")) == "ok"
    assert json_value(Counter(2**40, 64)) == 2**40
    assert json_value(OidValue("1.3.6.1")) == "1.3.6.1"


def test_values_that_are_never_served_are_refused() -> None:
    with pytest.raises(TypeError):
        to_snmp(None)
    with pytest.raises(ValueConstraintError):
        to_snmp(INT32_MAX + 1)


def test_one_usm_table_for_the_hlapi_and_the_engine_configuration() -> None:
    assert AUTH_PROTOCOLS[AuthProtocol.SHA] == hlapi.usmHMACSHAAuthProtocol
    assert AUTH_PROTOCOLS[AuthProtocol.SHA256] == hlapi.usmHMAC192SHA256AuthProtocol
    assert PRIV_PROTOCOLS[PrivProtocol.AES128] == hlapi.usmAesCfb128Protocol
    assert set(AUTH_PROTOCOLS) == set(AuthProtocol) and set(PRIV_PROTOCOLS) == set(PrivProtocol)
    assert auth_protocol(None) == snmp_config.USM_AUTH_NONE == hlapi.usmNoAuthProtocol
    assert priv_protocol(None) == snmp_config.USM_PRIV_NONE == hlapi.usmNoPrivProtocol
    for protocol in AUTH_PROTOCOLS.values():
        assert protocol in snmp_config.AUTH_SERVICES
    for protocol in PRIV_PROTOCOLS.values():
        assert protocol in snmp_config.PRIV_SERVICES


# -- every raw value a simulator can serve ------------------------------------------------

oids = st.builds(
    lambda first, second, rest: OidValue(".".join(map(str, (first, second, *rest)))),
    st.integers(0, 1),
    st.integers(0, 39),
    st.lists(st.integers(0, UINT32_MAX), max_size=12),
) | st.builds(
    lambda second, rest: OidValue(".".join(map(str, (2, second, *rest)))),
    st.integers(0, 1000),
    st.lists(st.integers(0, UINT32_MAX), max_size=12),
)
servable: st.SearchStrategy[RawValue] = st.one_of(
    st.integers(INT32_MIN, INT32_MAX),
    st.builds(Counter, st.integers(0, UINT32_MAX), st.just(32)),
    st.builds(Counter, st.integers(0, 2**64 - 1), st.just(64)),
    st.builds(Gauge, st.integers(0, UINT32_MAX)),
    st.builds(TimeTicks, st.integers(0, UINT32_MAX)),
    oids,
    st.builds(IpAddress, st.binary(min_size=4, max_size=4)),
    st.builds(Opaque, st.binary(max_size=64)),
    st.binary(max_size=256),
    st.text(max_size=64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(Null()),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(servable)
def test_any_served_raw_value_survives_the_round_trip(raw: RawValue) -> None:
    """Served, sent, read back and served again, a value is the very SMI value it was;
    a typed raw value (and an int, and octets) reads back as itself."""
    served = to_snmp(raw)
    back = to_raw(on_the_wire(served))
    if isinstance(raw, Null):
        assert back is None
        return
    again = to_snmp(back)
    assert again.tagSet == served.tagSet and again == served
    if not isinstance(raw, str | float):
        assert back == raw and type(back) is type(raw)


# -- through the poller's transport, over UDP ---------------------------------------------


class Served:
    """A device serving fixed objects (a `ServedDevice`)."""

    name = "values"
    silent = False

    def __init__(self, objects: Mapping[str, RawValue]) -> None:
        self._objects = {tuple(int(a) for a in oid.split(".")): raw for oid, raw in objects.items()}

    def objects(self) -> Mapping[Oid, RawValue]:
        return self._objects


BASE = "1.3.6.1.4.1.99999.2"
OVER_UDP: dict[str, RawValue] = {
    f"{BASE}.1.0": -7,
    f"{BASE}.2.0": Counter(4_000_000_000, 32),
    f"{BASE}.3.0": Gauge(12),
    f"{BASE}.4.0": TimeTicks(360_000),
    f"{BASE}.5.0": OidValue("1.3.6.1.4.1.99999.7"),
    f"{BASE}.6.0": IpAddress(bytes([127, 0, 0, 1])),
    f"{BASE}.7.0": Opaque(b"\x9f\x78\x04"),
    f"{BASE}.8.0": b"\x00\xff",
}


@pytest.mark.parametrize("version", [SnmpVersion.V1, SnmpVersion.V2C])
def test_the_transport_reads_what_the_simulator_serves(version: SnmpVersion) -> None:
    served = dict(OVER_UDP)
    if version is SnmpVersion.V2C:
        served[f"{BASE}.9.0"] = Counter(2**40, 64)  # SMIv1 has no Counter64
    served[f"{BASE}.10.0"] = Null()
    credentials = SnmpCredentials(version, community="values")

    async def body() -> dict[str, RawValue]:
        simulator = SnmpSimulator(Served(served), "127.0.0.1", 0, credentials)
        await simulator.start()
        client = SnmpClient()
        try:
            target = SnmpTarget("127.0.0.1", simulator.port, credentials, 2.0, 0)
            got = await client.get(target, [*served, f"{BASE}.11.0"])
            walked = await client.walk(target, BASE)
        finally:
            client.close()
            simulator.stop()
        assert walked == {oid: got[oid] for oid in served}  # the NULL too, as None
        return got

    got = asyncio.run(body())
    expected = {**served, f"{BASE}.10.0": None, f"{BASE}.11.0": None}
    assert got == expected
    for oid, raw in served.items():
        assert type(got[oid]) is (type(None) if isinstance(raw, Null) else type(raw)), oid
    assert all(
        got[oid].bits == raw.bits  # type: ignore[union-attr]
        for oid, raw in served.items()
        if isinstance(raw, Counter)
    )
