"""Commands central staff send the agent on `{root}/{station}/cmd/NAME`, beside the checklist.

`settings.py` the station's `[remote]` (which commands are allowed), `requests.py`
the payloads parsed into models, `gate.py` how often each is accepted and how many
refusals are answered, `dispatcher.py` the daemon's side.  None of them changes a
device: the vocabulary is read-only (`settings.COMMANDS`).
"""
