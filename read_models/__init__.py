"""Projections of the event log into SQLAlchemy tables, and the queries over them (issue 3)."""
