"""SNMPv1 / v2c messages in BER, both ways, without pysnmp: the poll path's codec.

pysnmp (through pyasn1) spent about 70 % of the agent's CPU building requests and decoding
answers; this codec does only what a read-only poller needs, in a few hundred lines:

- encode GetRequest, GetNextRequest and GetBulkRequest messages (every value NULL).  A
  request's shape (version, community, kind, OIDs, bulk fields) is encoded once and kept;
  a repeated poll only encodes its request-id and the three lengths around it.  There is
  no way to encode a SetRequest: no tag for it is defined here, and `PduKind` holds only
  the three read requests;
- decode a GetResponse into request-id, error-status, error-index and varbinds, each
  value read through `snmpvalues.from_ber` (the one SMI-type rule, shared with pysnmp's
  path through `to_raw`).

Devices are untrusted: every length is checked against what is left of the datagram, the
indefinite form and lengths of more than four octets are refused, the structure is fixed
(message, PDU, varbind list, varbind, value: no recursion into a value, so nesting is
bounded by construction), nothing may follow the message or any part of it, and every
malformed input raises `BerError` naming the byte offset and what was expected there.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from fieldagent.driver import RawValue
from fieldagent.snmpvalues import FROM_BER, SmiTag
from fieldagent.transports import TransportError

SEQUENCE = 0x30
"""SEQUENCE / SEQUENCE OF: the message, the varbind list, each varbind."""

GET_RESPONSE = 0xA2
"""The only PDU this codec decodes."""

MAX_LENGTH_OCTETS = 4
"""A long-form length of more octets is refused: no SNMP datagram needs one."""

MAX_OID_SUBIDS = 128
"""RFC 2578's limit on an OBJECT IDENTIFIER's sub-identifiers."""

MAX_SUBID = 2**32 - 1
"""A sub-identifier is an unsigned 32-bit number (RFC 2578)."""

REQUEST_ID_MAX = 2**31 - 1
"""Request-ids are Integer32; the client's run from 1 to here and wrap."""

_INTEGER_BOUNDS: dict[int, tuple[int, int, int]] = {
    SmiTag.INTEGER: (5, -(2**31), 2**31 - 1),
    SmiTag.COUNTER32: (5, 0, 2**32 - 1),
    SmiTag.GAUGE32: (5, 0, 2**32 - 1),
    SmiTag.TIME_TICKS: (5, 0, 2**32 - 1),
    SmiTag.COUNTER64: (9, 0, 2**64 - 1),
}
"""Per integer tag: most content octets, least and greatest value.  An INTEGER is Integer32
in SMIv1 and SMIv2 alike (pysnmp refuses a message with one beyond); the application types
are unsigned (a negative Counter is malformed), and may take a leading zero octet."""

_ABSENT = frozenset(
    {SmiTag.NULL, SmiTag.NO_SUCH_OBJECT, SmiTag.NO_SUCH_INSTANCE, SmiTag.END_OF_MIB_VIEW}
)


class BerError(TransportError):
    """A datagram is not a well-formed SNMP answer; the message says where and why."""


class PduKind(enum.IntEnum):
    """The requests the agent sends, by their PDU tag.  Read requests only: the agent never
    writes to a device, and no other PDU can be encoded."""

    GET = 0xA0
    GETNEXT = 0xA1
    GETBULK = 0xA5


class Version(enum.IntEnum):
    """msgVersion of the community-based versions."""

    V1 = 0
    V2C = 1


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded GetResponse: error-status and error-index as numbers (0 is noError), the
    varbinds in order with raw values (None for NULL, the no-such values and endOfMibView),
    and which varbinds (by position) were endOfMibView: a walk stops there, not at a NULL."""

    version: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[str, RawValue]]
    end_of_view: frozenset[int]


# -- encoding -----------------------------------------------------------------------------


def encode_length(length: int) -> bytes:
    """A definite length: short form under 128, else the fewest octets of long form."""
    if length < 0x80:
        return bytes((length,))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + encode_length(len(content)) + content


def encode_integer(value: int) -> bytes:
    """An INTEGER's TLV: two's complement in the fewest octets."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return _tlv(SmiTag.INTEGER, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: str) -> bytes:
    """An OBJECT IDENTIFIER's TLV from dotted text; ValueError for one that cannot be sent."""
    try:
        parts = [int(part) for part in oid.strip(".").split(".")]
    except ValueError:
        raise ValueError(f"OID {oid!r} is not dotted numbers") from None
    if len(parts) < 2 or parts[0] > 2 or (parts[0] < 2 and parts[1] >= 40):
        raise ValueError(f"OID {oid!r} does not start with 0.n, 1.n or 2.n (n < 40 below 2)")
    if len(parts) > MAX_OID_SUBIDS or any(not 0 <= p <= MAX_SUBID for p in parts[2:]):
        raise ValueError(f"OID {oid!r} has too many sub-identifiers or one beyond 2^32 - 1")
    content = bytearray()
    for part in (parts[0] * 40 + parts[1], *parts[2:]):
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        content.extend(reversed(chunk))
    return _tlv(SmiTag.OBJECT_IDENTIFIER, bytes(content))


_NULL_VALUE = bytes((SmiTag.NULL, 0))


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """One request shape encoded around its request-id: `prefix` (version, community),
    `tail` (the two fields after the request-id, the varbind list); `encode` puts a
    request-id between them and the PDU's and message's lengths around them."""

    kind: PduKind
    prefix: bytes
    tail: bytes

    def encode(self, request_id: int) -> bytes:
        pdu_body = encode_integer(request_id) + self.tail
        pdu = bytes((self.kind,)) + encode_length(len(pdu_body)) + pdu_body
        body_length = len(self.prefix) + len(pdu)
        return bytes((SEQUENCE,)) + encode_length(body_length) + self.prefix + pdu


def build_template(
    version: Version,
    community: bytes,
    kind: PduKind,
    oids: Sequence[str],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> RequestTemplate:
    """Encode a request's shape once (`request_template` keeps the recent ones)."""
    kind = PduKind(kind)  # a tag that is not a read request is refused here
    if kind is PduKind.GETBULK and version is Version.V1:
        raise ValueError("SNMPv1 has no GetBulkRequest")
    varbinds = b"".join(_tlv(SEQUENCE, encode_oid(oid) + _NULL_VALUE) for oid in oids)
    if kind is PduKind.GETBULK:
        fields = encode_integer(non_repeaters) + encode_integer(max_repetitions)
    else:
        fields = encode_integer(0) + encode_integer(0)  # error-status, error-index
    return RequestTemplate(
        kind=kind,
        prefix=encode_integer(version) + _tlv(SmiTag.OCTET_STRING, community),
        tail=fields + _tlv(SEQUENCE, varbinds),
    )


TEMPLATE_CACHE_SIZE = 1024
"""Request shapes kept: a station's GETs and the first step of its walks repeat every poll;
a walk's later steps move on and fall out first."""


def request_template(
    version: Version,
    community: bytes,
    kind: PduKind,
    oids: Sequence[str],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> RequestTemplate:
    """The encoded shape of a request, built once and kept while it is among the
    `TEMPLATE_CACHE_SIZE` most recently used."""
    return _kept_template(version, community, kind, tuple(oids), non_repeaters, max_repetitions)


@functools.lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _kept_template(
    version: Version,
    community: bytes,
    kind: PduKind,
    oids: tuple[str, ...],
    non_repeaters: int,
    max_repetitions: int,
) -> RequestTemplate:
    return build_template(version, community, kind, oids, non_repeaters, max_repetitions)


# -- decoding -----------------------------------------------------------------------------


def _header(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """Check the identifier at `pos` is `tag`; the content's start and end (within `end`)."""
    if pos >= end:
        raise BerError(f"byte {pos}: expected {what} (tag 0x{tag:02x}), found the end")
    if data[pos] != tag:
        raise BerError(f"byte {pos}: expected {what} (tag 0x{tag:02x}), found 0x{data[pos]:02x}")
    return _length(data, pos + 1, end, what)


def _length(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Read the length at `pos`: the content's start and end, the end within `end`."""
    if pos >= end:
        raise BerError(f"byte {pos}: expected the length of {what}, found the end")
    first = data[pos]
    if first < 0x80:
        start, length = pos + 1, first
    else:
        count = first & 0x7F
        if count == 0:
            raise BerError(f"byte {pos}: expected a definite length of {what}, found indefinite")
        if count > MAX_LENGTH_OCTETS:
            raise BerError(f"byte {pos}: expected a length of at most 4 octets, found {count}")
        start = pos + 1 + count
        if start > end:
            raise BerError(f"byte {pos}: expected {count} length octets of {what}, found the end")
        length = int.from_bytes(data[pos + 1 : start], "big")
    if start + length > end:
        raise BerError(
            f"byte {pos}: expected {what} of {length} octets within the {end - start} left"
        )
    return start, start + length


def _integer(data: bytes, start: int, stop: int, what: str, low: int, high: int) -> int:
    size = stop - start
    if size == 0:
        raise BerError(f"byte {start}: expected the octets of {what}, found none")
    value = int.from_bytes(data[start:stop], "big", signed=True)
    # An unsigned type sent without its leading zero octet reads negative: refused here.
    if not low <= value <= high:
        raise BerError(f"byte {start}: expected {what} in {low}..{high}, found {value}")
    return value


def _field(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """An INTEGER field of the message (Integer32): its value and where the next one starts."""
    start, stop = _header(data, pos, end, SmiTag.INTEGER, what)
    if stop - start > 4:
        raise BerError(f"byte {start}: expected {what} in at most 4 octets, found {stop - start}")
    return _integer(data, start, stop, what, -(2**31), 2**31 - 1), stop


def _oid(data: bytes, start: int, stop: int) -> str:
    if start == stop:
        raise BerError(f"byte {start}: expected the sub-identifiers of an OID, found none")
    if data[stop - 1] & 0x80:
        raise BerError(f"byte {stop - 1}: expected the last octet of a sub-identifier")
    parts: list[int] = []
    value = 0
    fresh = True
    for pos in range(start, stop):
        octet = data[pos]
        if fresh and octet == 0x80:
            raise BerError(f"byte {pos}: expected a sub-identifier without a leading 0x80")
        value = (value << 7) | (octet & 0x7F)
        if value > MAX_SUBID + 80:  # checked per octet: a long run must not grow a huge int
            raise BerError(f"byte {pos}: expected a sub-identifier up to 2^32 - 1")
        if octet & 0x80:
            fresh = False
            continue
        if value > MAX_SUBID and parts:
            raise BerError(f"byte {pos}: expected a sub-identifier up to 2^32 - 1")
        parts.append(value)
        value = 0
        fresh = True
    if len(parts) >= MAX_OID_SUBIDS:
        raise BerError(f"byte {start}: expected an OID of at most {MAX_OID_SUBIDS} sub-ids")
    first = parts[0]
    if first > MAX_SUBID + 80:
        raise BerError(f"byte {start}: expected a first sub-identifier up to 2^32 + 79")
    head = f"{first // 40}.{first % 40}" if first < 80 else f"2.{first - 80}"
    if len(parts) == 1:
        return head
    return head + "." + ".".join(map(str, parts[1:]))


OID_CACHE_SIZE = 16_384
"""OIDs kept decoded, by their content octets: a station asks the same objects every poll,
so most OIDs in an answer were decoded before.  Emptied when full (a walk of a huge table
must not grow it); only OIDs that decoded cleanly are kept."""

_oid_texts: dict[bytes, str] = {}


def _oid_text(data: bytes, start: int, stop: int) -> str:
    """`_oid`, remembered by the content octets."""
    key = data[start:stop]
    text = _oid_texts.get(key)
    if text is None:
        text = _oid(data, start, stop)
        if len(_oid_texts) >= OID_CACHE_SIZE:
            _oid_texts.clear()
        _oid_texts[key] = text
    return text


def _value(data: bytes, pos: int, end: int) -> tuple[int, RawValue, int]:
    """A varbind's value at `pos`: its tag, raw value and end."""
    if pos >= end:
        raise BerError(f"byte {pos}: expected a varbind's value, found the end")
    tag = data[pos]
    start, stop = _length(data, pos + 1, end, "a value")
    bounds = _INTEGER_BOUNDS.get(tag)
    if bounds is not None:
        most, low, high = bounds
        if stop - start > most:
            raise BerError(
                f"byte {start}: expected an integer of at most {most} octets, found {stop - start}"
            )
        primitive: object = _integer(data, start, stop, f"a value of tag 0x{tag:02x}", low, high)
    elif tag == SmiTag.OCTET_STRING or tag == SmiTag.OPAQUE:
        primitive = data[start:stop]
    elif tag == SmiTag.OBJECT_IDENTIFIER:
        primitive = _oid_text(data, start, stop)
    elif tag == SmiTag.IP_ADDRESS:
        if stop - start != 4:
            raise BerError(f"byte {start}: expected an IpAddress of 4 octets, found {stop - start}")
        primitive = data[start:stop]
    elif tag in _ABSENT:
        if stop != start:
            raise BerError(f"byte {start}: expected no content in tag 0x{tag:02x}")
        primitive = None
    else:
        raise BerError(f"byte {pos}: expected an SNMP value's tag, found 0x{tag:02x}")
    return tag, FROM_BER[tag](primitive), stop


def read_header(data: bytes) -> tuple[int, int, int, int]:
    """The version, PDU tag and request-id of a datagram, and where its PDU's remaining
    content starts: enough to match an answer to its request before decoding it."""
    end = len(data)
    start, stop = _header(data, 0, end, SEQUENCE, "an SNMP message (SEQUENCE)")
    if stop != end:
        raise BerError(f"byte {stop}: expected the end of the datagram, found {end - stop} more")
    version, pos = _field(data, start, stop, "the version")
    if version not in (Version.V1, Version.V2C):
        raise BerError(f"byte {start}: expected version 0 (v1) or 1 (v2c), found {version}")
    _, pos = _header(data, pos, stop, SmiTag.OCTET_STRING, "the community")
    if pos >= stop:
        raise BerError(f"byte {pos}: expected a PDU, found the end")
    pdu_tag = data[pos]
    if pdu_tag != GET_RESPONSE:
        raise BerError(f"byte {pos}: expected a GetResponse (tag 0xa2), found 0x{pdu_tag:02x}")
    pdu_start, pdu_stop = _length(data, pos + 1, stop, "the PDU")
    if pdu_stop != stop:
        raise BerError(f"byte {pdu_stop}: expected the end of the message after the PDU")
    request_id, pos = _field(data, pdu_start, stop, "the request-id")
    return version, pdu_tag, request_id, pos


def decode_response(data: bytes) -> Response:
    """Decode a GetResponse datagram; `BerError` for anything else or anything malformed."""
    version, _, request_id, pos = read_header(data)
    end = len(data)
    error_status, pos = _field(data, pos, end, "the error-status")
    error_index, pos = _field(data, pos, end, "the error-index")
    start, stop = _header(data, pos, end, SEQUENCE, "the varbind list (SEQUENCE)")
    if stop != end:
        raise BerError(f"byte {stop}: expected the end of the PDU after the varbind list")
    varbinds: list[tuple[str, RawValue]] = []
    ends: list[int] = []
    pos = start
    while pos < stop:
        vb_start, vb_stop = _header(data, pos, stop, SEQUENCE, "a varbind (SEQUENCE)")
        oid_start, oid_stop = _header(data, vb_start, vb_stop, SmiTag.OBJECT_IDENTIFIER, "an OID")
        tag, raw, value_stop = _value(data, oid_stop, vb_stop)
        if value_stop != vb_stop:
            raise BerError(f"byte {value_stop}: expected the end of the varbind")
        if tag == SmiTag.END_OF_MIB_VIEW:
            ends.append(len(varbinds))
        varbinds.append((_oid_text(data, oid_start, oid_stop), raw))
        pos = vb_stop
    return Response(version, request_id, error_status, error_index, varbinds, frozenset(ends))


ERROR_STATUS_NAMES = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)
"""error-status values by number (RFC 3416), named as pysnmp names them."""

NO_SUCH_NAME = 2
"""SNMPv1's answer for an OID it does not serve (or a GETNEXT past its view)."""


def error_status_name(status: int) -> str:
    """An error-status as its RFC name; a number outside the RFC as itself."""
    return ERROR_STATUS_NAMES[status] if 0 <= status < len(ERROR_STATUS_NAMES) else str(status)
