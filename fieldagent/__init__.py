"""fieldagent: the station agent for district radio-TV stations and cable-TV headends."""

__version__ = "0.1.0"
