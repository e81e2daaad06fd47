"""The province's side: every station's state from the broker (`view`), the subscriber that
feeds it, and the `monitor` and `readiness` commands built on them (docs/central.md)."""
