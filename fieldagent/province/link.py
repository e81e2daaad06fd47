"""The broker link of the province's commands, from their options, checked as `[mqtt]` is.

`monitor` and `readiness` take the broker as the agent's station file does
(`config.MqttSection`: URL, user, password file, CA, client certificate, TLS
verification, plaintext only to this machine unless allowed), so a mistake
gets the same one-line message and a password is never taken on the command
line, only from a private file.  The options themselves are declared in `fieldagent.cli`
(`_broker_options`), whose parser imports nothing heavier than argparse.
"""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from fieldagent.config import MqttSection
from fieldagent.configbase import ConfigError


def link_settings(args: argparse.Namespace) -> tuple[MqttSection, str | None]:
    """The link and the password; ConfigError naming the option at fault."""
    fields = {
        "url": args.broker,
        "username": args.username,
        "password_file": args.password_file,
        "ca_file": args.ca_file,
        "cert_file": args.cert_file,
        "key_file": args.key_file,
        "tls_verify": not args.no_tls_verify,
        "allow_plaintext": args.allow_plaintext,
        "protocol": "5" if args.mqtt5 or getattr(args, "share", None) else "3.1.1",
        "topic_root": args.topic_root,
    }
    try:
        settings = MqttSection.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False):
            where = ".".join(str(p) for p in error["loc"]) or "broker"
            option = "--" + where.replace("_", "-").replace("url", "broker")
            text = error["msg"].removeprefix("Value error, ")
            text = text.replace("set allow_plaintext = true", "give --allow-plaintext")
            problems.append(f"{option}: {text}")
        raise ConfigError(problems) from None
    return settings, settings.resolved_password()
