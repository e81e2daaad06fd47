"""Simulated field equipment, served over the real protocol.

A driver's own metric table and `SimModel` drive the simulator, so tests, the
`fieldagent simulate` command and the demo exercise the same decode path as a
real station, without a UPS on the bench.
"""
