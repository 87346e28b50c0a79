"""Event-store infrastructure: the pydantic mapper and recorders that keep two side tables.

Besides the library's events table, every recorder writes in the *same transaction* as the events:

- a recorded-time index, ``(originator_id, originator_version, recorded_at)``, so that "this
  aggregate as at recorded time T" is one indexed lookup then ``repository.get(id, version=v)``
  (the library's searchable-timestamps pattern);
- the outcome of each command sent with an idempotency key, so a retried command records nothing
  new and gets the first outcome back, even when two retries race.
"""
