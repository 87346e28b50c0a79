"""A realistic, fictional programme to explore the tracker with: deterministic, seeded."""
