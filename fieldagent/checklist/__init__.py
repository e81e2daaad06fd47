"""The pre-holiday maintenance checklist: definitions (`definition`, `expr`), the
station's selection (`settings`, `resolve`) and its review (`show`)."""
