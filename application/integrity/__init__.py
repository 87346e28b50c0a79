"""Signing checkpoints of the log with the tracker's Ed25519 key."""
