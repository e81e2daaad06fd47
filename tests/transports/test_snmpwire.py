"""The BER codec of SNMP v1 / v2c messages, held to pysnmp's encoder and decoder and to
bytes net-snmp sent: requests byte for byte, answers value for value (type and all), and
every malformed answer refused with `BerError` naming where."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.proto import rfc1155, rfc1902, rfc1905

from fieldagent.driver import Counter, Gauge, IpAddress, OidValue, Opaque, RawValue, TimeTicks
from fieldagent.snmpvalues import FROM_BER, SmiTag, from_ber, to_raw
from fieldagent.transports import TransportError, snmpwire
from fieldagent.transports.snmpwire import (
    REQUEST_ID_MAX,
    BerError,
    PduKind,
    Version,
    build_template,
    decode_response,
    encode_length,
    error_status_name,
    request_template,
)
from tests.transports.pysnmp_messages import decoded, request, request_fields, response

SYS_DESCR = "1.3.6.1.2.1.1.1.0"

# -- requests -----------------------------------------------------------------------------


def test_a_get_is_byte_for_byte_what_net_snmp_sends() -> None:
    # `snmpget -v2c -c public HOST 1.3.6.1.2.1.1.1.0` (net-snmp 5.9), captured at a socket.
    net_snmp = bytes.fromhex(
        "302902010104067075626c6963a01c02046b915d7f020100020100300e300c06082b060102010101000500"
    )
    template = request_template(Version.V2C, b"public", PduKind.GET, [SYS_DESCR])
    assert template.encode(0x6B915D7F) == net_snmp


def test_a_getbulk_is_byte_for_byte_what_net_snmp_sends() -> None:
    # `snmpbulkget -v2c -c public -Cn0 -Cr10 HOST 1.3.6.1.2.1.2.2.1.1`
    net_snmp = bytes.fromhex(
        "302a02010104067075626c6963a51d020465e0266202010002010a300f300d06092b06010201020201010500"
    )
    template = request_template(
        Version.V2C, b"public", PduKind.GETBULK, ["1.3.6.1.2.1.2.2.1.1"], 0, 10
    )
    assert template.encode(0x65E02662) == net_snmp


OID_SHAPES = [
    [SYS_DESCR],
    ["1.3.6.1.4.1.99999.4294967295.0", "1.3.6.1.4.1.268435456.1", "2.999.1"],
    [f"1.3.6.1.2.1.2.2.1.{column}" for column in range(1, 23)],
    ["1.3.6.1.4.1.99999." + ".".join(["200"] * 60)],  # a long-form varbind length
]


@pytest.mark.parametrize("oids", OID_SHAPES, ids=["one", "big-subids", "22-columns", "long"])
@pytest.mark.parametrize(
    ("version", "kind"),
    [
        (Version.V1, PduKind.GET),
        (Version.V1, PduKind.GETNEXT),
        (Version.V2C, PduKind.GET),
        (Version.V2C, PduKind.GETNEXT),
        (Version.V2C, PduKind.GETBULK),
    ],
)
@pytest.mark.parametrize("request_id", [0, 1, 127, 128, 32767, 32768, 8_388_608, REQUEST_ID_MAX])
def test_requests_are_byte_for_byte_what_pysnmp_encodes(
    oids: list[str], version: Version, kind: PduKind, request_id: int
) -> None:
    repetitions = 25 if kind is PduKind.GETBULK else 0
    template = request_template(version, b"s3cret-community", kind, oids, 0, repetitions)
    ours = template.encode(request_id)
    assert ours == request(version, kind, request_id, oids, "s3cret-community", repetitions)
    assert request_fields(ours) == (version, kind, request_id, oids)


def test_a_request_shape_is_encoded_once_and_only_its_request_id_changes() -> None:
    first = request_template(Version.V2C, b"public", PduKind.GET, ["1.3.6.1.2.1.1.3.0"])
    again = request_template(Version.V2C, b"public", PduKind.GET, ("1.3.6.1.2.1.1.3.0",))
    assert again is first
    other = request_template(Version.V2C, b"private", PduKind.GET, ["1.3.6.1.2.1.1.3.0"])
    assert other is not first


def test_the_template_cache_is_bounded() -> None:
    for n in range(snmpwire.TEMPLATE_CACHE_SIZE + 50):
        request_template(Version.V2C, b"public", PduKind.GET, [f"1.3.6.1.4.1.99999.{n}.0"])
    assert snmpwire._kept_template.cache_info().currsize == snmpwire.TEMPLATE_CACHE_SIZE


def test_no_write_request_can_be_encoded() -> None:
    assert {kind.value for kind in PduKind} == {0xA0, 0xA1, 0xA5}
    with pytest.raises(ValueError):
        build_template(Version.V2C, b"public", 0xA3, [SYS_DESCR])  # type: ignore[arg-type]
    names = " ".join(dir(snmpwire)).lower()
    assert "set" not in names.replace("offset", "")


def test_v1_has_no_getbulk_and_an_oid_must_be_sendable() -> None:
    with pytest.raises(ValueError, match="no GetBulkRequest"):
        build_template(Version.V1, b"public", PduKind.GETBULK, [SYS_DESCR], 0, 10)
    for bad in ("1.3.six", "3.1", "1.40", "1.3.6.4294967296"):
        with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
            build_template(Version.V2C, b"public", PduKind.GET, [bad])


@pytest.mark.parametrize("length", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**24])
def test_lengths_take_the_fewest_octets(length: int) -> None:
    encoded = encode_length(length)
    if length < 128:
        assert encoded == bytes([length])
    else:
        assert encoded[0] == 0x80 | (len(encoded) - 1)
        assert encoded[1] != 0 and int.from_bytes(encoded[1:], "big") == length


# -- answers: every SMI type, as pysnmp reads the same bytes -------------------------------

VALUES: list[Any] = [
    rfc1902.Integer32(0),
    rfc1902.Integer32(-1),
    rfc1902.Integer32(-129),
    rfc1902.Integer32(-(2**31)),
    rfc1902.Integer32(2**31 - 1),
    rfc1902.OctetString(b""),
    rfc1902.OctetString(b"TX1 \xc3\xa9"),
    rfc1902.OctetString(bytes(range(256)) * 3),  # a long-form length of two octets
    rfc1902.Bits(b"\x80\x01"),
    univ.Null(""),
    rfc1902.ObjectName("1.3.6.1.4.1.99999.7"),
    rfc1902.ObjectName("1.3.6.1.4.1.4294967295.268435457"),
    rfc1902.ObjectName("2.999.3"),
    rfc1902.ObjectName("0.0"),
    rfc1902.IpAddress("192.168.1.20"),
    rfc1902.Counter32(0),
    rfc1902.Counter32(2**32 - 1),
    rfc1902.Gauge32(2**31),
    rfc1902.Unsigned32(7),
    rfc1902.TimeTicks(8_640_000),
    rfc1902.Opaque(bytes([0x9F, 0x78, 0x04, 0x42, 0x28, 0x00, 0x00])),
    rfc1902.Counter64(0),
    rfc1902.Counter64(2**63),
    rfc1902.Counter64(2**64 - 1),
    rfc1905.NoSuchObject(),
    rfc1905.NoSuchInstance(),
    rfc1905.EndOfMibView(),
]

V1_VALUES: list[Any] = [
    rfc1155.IpAddress(bytes([10, 0, 0, 1])),
    rfc1155.Counter(5),
    rfc1155.Gauge(6),
    rfc1155.TimeTicks(7),
    rfc1155.Opaque(b"\x01"),
    univ.Integer(-3),
    univ.Integer(-(2**31)),
    univ.OctetString(b"abc"),
    univ.ObjectIdentifier("1.3.6.1.4.1.99999"),
]


def _same(ours: list[tuple[str, RawValue]], theirs: list[tuple[str, RawValue]]) -> None:
    assert ours == theirs
    for (_, mine), (_, pysnmp_raw) in zip(ours, theirs, strict=True):
        assert type(mine) is type(pysnmp_raw)
        if isinstance(mine, Counter):
            assert isinstance(pysnmp_raw, Counter) and mine.bits == pysnmp_raw.bits


@pytest.mark.parametrize(
    "value", VALUES, ids=lambda v: f"{type(v).__name__}:{v.prettyPrint()[:20] if v.isValue else ''}"
)
def test_every_smi_type_decodes_to_the_raw_value_pysnmp_gives(value: Any) -> None:
    data = response([("1.3.6.1.4.1.99999.1.0", value)], request_id=77)
    answer = decode_response(data)
    request_id, theirs = decoded(data)
    assert (answer.version, answer.request_id, answer.error_status) == (1, request_id, 0)
    _same(answer.varbinds, theirs)
    is_end = isinstance(value, rfc1905.EndOfMibView)
    assert answer.end_of_view == (frozenset({0}) if is_end else frozenset())


@pytest.mark.parametrize("value", V1_VALUES, ids=lambda v: type(v).__module__ + type(v).__name__)
def test_smiv1_types_decode_as_pysnmp_reads_them(value: Any) -> None:
    data = response([("1.3.6.1.4.1.99999.1.0", value)], Version.V1, request_id=5)
    answer = decode_response(data)
    assert answer.version == 0
    _same(answer.varbinds, decoded(data)[1])


def test_one_rule_maps_every_tag_for_both_paths() -> None:
    assert set(FROM_BER) == set(SmiTag)
    assert from_ber(SmiTag.COUNTER64, 5) == Counter(5, 64)
    for value in VALUES:
        raw = to_raw(value)
        assert type(raw) is type(decode_response(response([("1.3.6.1", value)])).varbinds[0][1])
    expected = {
        SmiTag.INTEGER: int,
        SmiTag.OCTET_STRING: bytes,
        SmiTag.OBJECT_IDENTIFIER: OidValue,
        SmiTag.IP_ADDRESS: IpAddress,
        SmiTag.COUNTER32: Counter,
        SmiTag.GAUGE32: Gauge,
        SmiTag.TIME_TICKS: TimeTicks,
        SmiTag.OPAQUE: Opaque,
        SmiTag.COUNTER64: Counter,
    }
    primitives = {SmiTag.OCTET_STRING: b"\x01\x02\x03\x04", SmiTag.OBJECT_IDENTIFIER: "1.3"}
    for tag, kind in expected.items():
        primitive = primitives.get(tag, b"\x01\x02\x03\x04" if tag in (0x40, 0x44) else 1)
        assert type(from_ber(tag, primitive)) is kind


def test_an_error_status_and_its_index_are_read() -> None:
    data = response([(SYS_DESCR, univ.Null(""))], Version.V1, 9, error_status=2, error_index=1)
    answer = decode_response(data)
    assert (answer.error_status, answer.error_index) == (2, 1)
    assert error_status_name(1) == "tooBig" and error_status_name(2) == "noSuchName"
    assert error_status_name(99) == "99"


def test_a_varbind_list_of_many_values_reads_in_order() -> None:
    varbinds = [
        (f"1.3.6.1.2.1.2.2.1.{c}.{r}", rfc1902.Counter32(c * r))
        for r in (1, 2)
        for c in range(1, 16)
    ]
    varbinds.append(("1.3.6.1.2.1.2.2.1.16.1", rfc1905.EndOfMibView()))
    answer = decode_response(response(varbinds, request_id=REQUEST_ID_MAX))
    assert answer.request_id == REQUEST_ID_MAX
    assert [oid for oid, _ in answer.varbinds] == [oid for oid, _ in varbinds]
    assert answer.end_of_view == frozenset({30})


def test_long_form_lengths_with_more_octets_than_needed_are_read() -> None:
    # net-snmp's snmpd writes every SEQUENCE length in two octets ("30 82 00 2b").
    short = response([(SYS_DESCR, rfc1902.OctetString(b"box"))], request_id=3)
    body = short[2:]
    padded = bytes([0x30, 0x82]) + len(body).to_bytes(2, "big") + body
    assert decode_response(padded) == decode_response(short)


# -- a property over every value a device may send -----------------------------------------

_sub_ids = st.integers(min_value=0, max_value=2**32 - 1)
_oids = st.builds(
    lambda tail: "1.3.6.1.4.1." + ".".join(map(str, tail)),
    st.lists(_sub_ids, min_size=1, max_size=12),
)
_values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
    st.binary(max_size=300).map(rfc1902.OctetString),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.integers(0, 2**32 - 1).map(rfc1902.Counter32),
    st.integers(0, 2**32 - 1).map(rfc1902.Gauge32),
    st.integers(0, 2**32 - 1).map(rfc1902.TimeTicks),
    st.binary(max_size=40).map(rfc1902.Opaque),
    st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
    _oids.map(rfc1902.ObjectName),
    st.sampled_from([univ.Null, rfc1905.NoSuchObject, rfc1905.NoSuchInstance]).map(
        lambda absent: absent("")
    ),
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(st.tuples(_oids, _values), max_size=30),
    st.integers(0, REQUEST_ID_MAX),
    st.sampled_from(["public", "", "x" * 200]),
)
def test_any_answer_pysnmp_encodes_decodes_as_pysnmp_reads_it(
    varbinds: list[tuple[str, Any]], request_id: int, community: str
) -> None:
    data = response(varbinds, request_id=request_id, community=community)
    answer = decode_response(data)
    theirs_id, theirs = decoded(data)
    assert answer.request_id == theirs_id
    _same(answer.varbinds, theirs)


# -- refusals -----------------------------------------------------------------------------

GOOD = response(
    [(SYS_DESCR, rfc1902.OctetString(b"box")), ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(5))]
)


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(content)) + content


def _with_value(value_tlv: bytes) -> bytes:
    """A v2c GetResponse (request-id 1) with one varbind of OID 1.3.6.1 and this value."""
    varbind = _tlv(0x30, bytes([0x06, 0x03, 0x2B, 0x06, 0x01]) + value_tlv)
    pdu = _tlv(0xA2, bytes.fromhex("020101020100020100") + _tlv(0x30, varbind))
    return _tlv(0x30, bytes.fromhex("02010104067075626c6963") + pdu)


REFUSED: list[tuple[str, bytes, str]] = [
    ("empty", b"", "byte 0: expected an SNMP message (SEQUENCE) (tag 0x30), found the end"),
    ("not a sequence", b"\x04\x00", "byte 0: expected an SNMP message"),
    ("indefinite", b"\x30\x80" + GOOD[2:] + b"\x00\x00", "byte 1: expected a definite length"),
    (
        "five length octets",
        b"\x30\x85\x00\x00\x00\x00\x05" + GOOD[2:7],
        "at most 4 octets, found 5",
    ),
    ("length past the datagram", GOOD[:1] + bytes([GOOD[1] + 1]) + GOOD[2:], "octets within the"),
    ("trailing garbage", GOOD + b"\x00", "expected the end of the datagram, found 1 more"),
    ("truncated", GOOD[:-1], "byte 1: expected an SNMP message (SEQUENCE) of"),
    ("version 3", GOOD[:4] + b"\x03" + GOOD[5:], "byte 2: expected version 0 (v1) or 1 (v2c)"),
    (
        "a SetRequest",
        GOOD[:13] + b"\xa3" + GOOD[14:],
        "byte 13: expected a GetResponse (tag 0xa2), found 0xa3",
    ),
    ("a trap", GOOD[:13] + b"\xa7" + GOOD[14:], "found 0xa7"),
    ("empty integer", _with_value(b"\x02\x00"), "expected the octets of"),
    ("integer beyond 32 bits", _with_value(b"\x02\x05\x00\x80\x00\x00\x00"), "found 2147483648"),
    ("negative counter", _with_value(b"\x41\x01\xff"), "in 0..4294967295, found -1"),
    ("counter32 of 6 octets", _with_value(b"\x41\x06\x00\x01\x00\x00\x00\x00"), "at most 5"),
    (
        "counter64 beyond 64 bits",
        _with_value(b"\x46\x09\x01" + b"\x00" * 8),
        "0..18446744073709551615",
    ),
    (
        "ip address of 5",
        _with_value(b"\x40\x05\x01\x02\x03\x04\x05"),
        "IpAddress of 4 octets, found 5",
    ),
    ("null with content", _with_value(b"\x05\x01\x00"), "expected no content in tag 0x05"),
    ("end of mib with content", _with_value(b"\x82\x01\x00"), "no content in tag 0x82"),
    ("unknown value tag", _with_value(b"\x45\x00"), "expected an SNMP value's tag, found 0x45"),
    ("constructed value", _with_value(b"\x30\x00"), "found 0x30"),
    ("oid leading 0x80", _with_value(b"\x06\x03\x2b\x80\x01"), "without a leading 0x80"),
    ("oid cut mid sub-id", _with_value(b"\x06\x02\x2b\x86"), "the last octet of a sub-identifier"),
    ("oid sub-id over 32 bits", _with_value(b"\x06\x06\x2b\x90\x80\x80\x80\x00"), "up to 2^32 - 1"),
    ("empty oid", _with_value(b"\x06\x00"), "the sub-identifiers of an OID, found none"),
    ("oid of 129 sub-ids", _with_value(b"\x06\x81\x80" + b"\x2b" + b"\x01" * 127), "at most 128"),
]


@pytest.mark.parametrize(
    ("data", "words"), [(d, w) for _, d, w in REFUSED], ids=[n for n, _, _ in REFUSED]
)
def test_malformed_answers_are_refused_naming_the_byte_and_what_was_expected(
    data: bytes, words: str
) -> None:
    with pytest.raises(BerError, match=r"^byte [0-9]+: expected ") as refused:
        decode_response(data)
    assert words in str(refused.value)
    assert isinstance(refused.value, TransportError)


def test_the_refusal_cases_differ_from_a_good_answer_only_where_they_say() -> None:
    decode_response(_with_value(b"\x02\x01\x05"))  # the builder itself makes good answers
    decode_response(_with_value(b"\x06\x81\x7f" + b"\x2b" + b"\x01" * 126))  # 128 sub-ids
    decode_response(GOOD)


def test_a_long_run_of_continuation_octets_is_refused_early() -> None:
    data = _with_value(b"\x06\x7f" + b"\xff" * 126 + b"\x01")
    with pytest.raises(BerError, match="up to 2"):
        decode_response(data)


# -- fuzz: mutated answers decode or raise BerError, nothing else ---------------------------

SEEDS = [response([(SYS_DESCR, v)], request_id=4242) for v in VALUES] + [
    response([(f"1.3.6.1.2.1.2.2.1.{c}.1", rfc1902.Gauge32(c)) for c in range(1, 16)], Version.V1)
]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        what = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if what == 0 and buf:
            buf[pos % len(buf)] = rng.randrange(256)
        elif what == 1 and buf:
            buf[pos % len(buf)] ^= 1 << rng.randrange(8)
        elif what == 2:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif what == 3:
            del buf[pos : pos + rng.randint(1, 4)]
        elif what == 4:
            buf = buf[: rng.randrange(len(buf) + 1)]
        else:
            buf[pos % max(1, len(buf)) : pos % max(1, len(buf)) + 1] = rng.choice(
                [b"\x80", b"\x84\xff\xff\xff\xff", b"\x81\xff", b"\x00", b"\xff"]
            )
    return bytes(buf)


def test_mutated_answers_decode_or_raise_ber_error_and_nothing_else() -> None:
    rng = random.Random(20261202)
    outcomes = {"decoded": 0, "refused": 0}
    for _ in range(20_000):
        data = _mutate(rng.choice(SEEDS), rng)
        try:
            answer = decode_response(data)
        except BerError as exc:
            assert str(exc).startswith("byte ")
            outcomes["refused"] += 1
        else:
            assert all(isinstance(oid, str) for oid, _ in answer.varbinds)
            outcomes["decoded"] += 1
    # Both outcomes happen: the mutations reach past the header and not all of them break it.
    assert outcomes["refused"] > 10_000 and outcomes["decoded"] > 100
