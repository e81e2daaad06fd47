"""Device profiles: a driver declared in a TOML file instead of a Python module.

`schema.py` says what a profile file may hold, `build.py` turns a checked
profile into the same `Driver` a Python module declares, `load.py` reads
profile files and directories (every problem at once, by file and key path),
`walk.py` reads SNMP walks and recordings (snmpwalk -On output, .snmprec).
"""
