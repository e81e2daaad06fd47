"""`fieldagent web`: the province's read-only live page (docs/central.md, "Web page")."""
