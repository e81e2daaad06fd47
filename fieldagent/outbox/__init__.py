"""Store and forward: every outgoing message is on disk before it is published.

`Outbox` numbers and keeps messages (state.db), `Forwarder` drains them to the
broker a bounded window at a time, `chain` keeps the `prev` links that let
subscribers check completeness (`fieldagent.sequence`).
"""

from fieldagent.outbox.draft import Draft, Kind, Row, wire_payload
from fieldagent.outbox.forwarder import Forwarder
from fieldagent.outbox.outbox import Backlog, Outbox

__all__ = ["Backlog", "Draft", "Forwarder", "Kind", "Outbox", "Row", "wire_payload"]
