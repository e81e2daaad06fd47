"""Transports: how the agent reaches devices (SNMP now; serial and Modbus later).

A transport moves raw values and knows no driver; a driver knows its table and
no transport.  Every transport is read-only: there is no write path here.
"""


class TransportError(Exception):
    """A device could not be read at all this time; the message says what to check.

    The poller turns it into readings of quality `bad`; every transport's own
    error (SNMP, serial line, protocol timeouts) derives from it.
    """
