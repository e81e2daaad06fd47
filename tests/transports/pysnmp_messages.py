"""SNMP messages as pysnmp encodes and decodes them: the independent reference the wire
codec (`fieldagent.transports.snmpwire`) is held to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto.api import v1, v2c

from fieldagent.driver import RawValue
from fieldagent.snmpvalues import to_raw
from fieldagent.transports.snmpwire import PduKind, Version

_API = {Version.V1: v1, Version.V2C: v2c}


def request(
    version: Version,
    kind: PduKind,
    request_id: int,
    oids: Sequence[str],
    community: str = "public",
    max_repetitions: int = 0,
) -> bytes:
    """A read request as pysnmp's encoder writes it."""
    api = _API[version]
    pdu = {
        PduKind.GET: lambda: api.GetRequestPDU(),
        PduKind.GETNEXT: lambda: api.GetNextRequestPDU(),
        PduKind.GETBULK: lambda: v2c.GetBulkRequestPDU(),
    }[kind]()
    api.apiPDU.set_defaults(pdu)
    api.apiPDU.set_request_id(pdu, request_id)
    if kind is PduKind.GETBULK:
        v2c.apiBulkPDU.set_non_repeaters(pdu, 0)
        v2c.apiBulkPDU.set_max_repetitions(pdu, max_repetitions)
    api.apiPDU.set_varbinds(pdu, [(oid, v2c.null) for oid in oids])
    return _message(api, community, pdu)


def response(
    varbinds: Sequence[tuple[str, Any]],
    version: Version = Version.V2C,
    request_id: int = 1,
    error_status: int = 0,
    error_index: int = 0,
    community: str = "public",
) -> bytes:
    """A GetResponse carrying pysnmp values, as pysnmp's encoder writes it."""
    api = _API[version]
    pdu = api.GetResponsePDU()
    api.apiPDU.set_defaults(pdu)
    api.apiPDU.set_request_id(pdu, request_id)
    api.apiPDU.set_error_status(pdu, error_status)
    api.apiPDU.set_error_index(pdu, error_index)
    api.apiPDU.set_varbinds(pdu, list(varbinds))
    return _message(api, community, pdu)


def _message(api: Any, community: str, pdu: Any) -> bytes:
    message = api.Message()
    api.apiMessage.set_defaults(message)
    api.apiMessage.set_community(message, community)
    api.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def decoded(data: bytes) -> tuple[int, list[tuple[str, RawValue]]]:
    """pysnmp's reading of a GetResponse: its request-id and varbinds through `to_raw`."""
    version = int(decoder.decode(data, asn1Spec=v2c.Message())[0]["version"])
    api = v1 if version == 0 else v2c
    message, rest = decoder.decode(data, asn1Spec=api.Message())
    assert rest == b""
    pdu = api.apiMessage.get_pdu(message)
    varbinds = [(str(name), to_raw(value)) for name, value in api.apiPDU.get_varbinds(pdu)]
    return int(api.apiPDU.get_request_id(pdu)), varbinds


def request_fields(data: bytes) -> tuple[int, int, int, list[str]]:
    """A read request's version, PDU tag, request-id and OIDs, as pysnmp reads them."""
    message, _ = decoder.decode(data, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(message)
    tag = pdu.tagSet[-1]
    oids = [str(name) for name, _ in v2c.apiPDU.get_varbinds(pdu)]
    return (
        int(message["version"]),
        tag.tagClass | tag.tagFormat | tag.tagId,
        int(v2c.apiPDU.get_request_id(pdu)),
        oids,
    )
