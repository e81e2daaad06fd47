"""`fieldagent doctor`: what is wrong with this station's set-up, in plain words.

A technician installing the agent at a station, often alone and on a flaky link,
gets one row per check (the station file, its secrets, the state directory and its
free space, the clock, each serial port, the trap port, the broker step by step,
each device), each passed, warned or failed, with what to do next, in Vietnamese
and English.  The checks are small functions returning `Finding` records
(`result.py`); the words live in `texts.py` alone, the layout in `render.py`.
"""
