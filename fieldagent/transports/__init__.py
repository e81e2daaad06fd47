"""Transports: how the agent reaches devices (SNMP now; serial and Modbus later).

A transport moves raw values and knows no driver; a driver knows its table and
no transport.  Every transport is read-only: there is no write path here.
"""
