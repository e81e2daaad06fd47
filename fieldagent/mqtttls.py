"""The broker link's TLS settings as one `ssl.SSLContext`, built from `[mqtt]` once.

The publisher hands it to paho, and `fieldagent doctor` opens a bare TLS
connection with the very same context to say why a handshake fails (unknown
CA, host name mismatch, expired certificate): a diagnosis made with other
settings than the agent's would prove nothing.
"""

from __future__ import annotations

import ssl

from fieldagent.config import MqttSection


def tls_context(settings: MqttSection) -> ssl.SSLContext:
    """A client context: the configured CA (the system's when none is given), host name
    checked, the client certificate when one is given; no checks with `tls_verify = false`.

    OSError or ssl.SSLError when a file cannot be read or is not what it should be.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, host name checked
    if settings.tls_verify:
        if settings.ca_file is not None:
            context.load_verify_locations(cafile=str(settings.ca_file))
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False  # must come first: a checked name needs CERT_REQUIRED
        context.verify_mode = ssl.CERT_NONE
    if settings.cert_file is not None and settings.key_file is not None:
        context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
    return context
