"""The impact tracker's domain: aggregates, their events, value types and business rules.

Imports only the standard library, pydantic and ``eventsourcing.domain``; infrastructure is
wired from outside (see ``application``).
"""
