"""Query functions over the views: what the interfaces call; each returns pydantic models."""
