"""Tamper evidence: hash chains per stream, a Merkle tree over the log, signed checkpoints."""
