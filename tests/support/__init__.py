"""Helpers shared by several test packages: recordings of simulators, snmpsim replays."""
