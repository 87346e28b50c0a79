"""RFC 6962 hashing (Certificate Transparency's Merkle tree), and per-stream hash chains.

Leaves and nodes are hashed with distinct prefixes (0x00, 0x01), so a leaf can never pass for a
node. The tree over n leaves splits at the largest power of two below n; its root is kept
incrementally as a *frontier*: the roots of the perfect subtrees that n's binary digits
describe, largest first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from uuid import UUID

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
GENESIS = bytes(32)

Frontier = list[tuple[int, str]]  # (leaves in the subtree, its root), largest subtree first


def entry(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The canonical bytes of one stored event: stream id, version, topic and stored state."""
    topic_bytes = topic.encode()
    return b"".join(
        [
            originator_id.bytes,
            version.to_bytes(8, "big"),
            len(topic_bytes).to_bytes(4, "big"),
            topic_bytes,
            len(state).to_bytes(4, "big"),
            state,
        ]
    )


def leaf_hash(data: bytes) -> str:
    """RFC 6962 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + data).hexdigest()


def node_hash(left: str, right: str) -> str:
    """RFC 6962 node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def chain_hash(previous: str | None, data: bytes) -> str:
    """A stream's chain: each event's hash covers the previous one (zeros before version 1)."""
    start = bytes.fromhex(previous) if previous else GENESIS
    return hashlib.sha256(start + data).hexdigest()


def append(frontier: Frontier, leaf: str) -> Frontier:
    """The frontier after one more leaf: merge equal-sized subtrees, as binary addition does."""
    grown = [*frontier, (1, leaf)]
    while len(grown) > 1 and grown[-1][0] == grown[-2][0]:
        (size, left), (_, right) = grown[-2], grown[-1]
        grown[-2:] = [(size * 2, node_hash(left, right))]
    return grown


def root(frontier: Frontier) -> str:
    """The tree's root: fold the subtrees from the smallest (rightmost) up."""
    if not frontier:
        return EMPTY_ROOT
    current = frontier[-1][1]
    for _, subtree in reversed(frontier[:-1]):
        current = node_hash(subtree, current)
    return current


def tree_root(leaves: Sequence[str]) -> str:
    """The root computed the RFC's recursive way (for tests and proofs)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(tree_root(leaves[:split]), tree_root(leaves[split:]))


def inclusion_path(leaves: Sequence[str], index: int) -> list[str]:
    """RFC 6962 audit path for the leaf at ``index`` in the tree of ``leaves``."""
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*inclusion_path(leaves[:split], index), tree_root(leaves[split:])]
    return [*inclusion_path(leaves[split:], index - split), tree_root(leaves[:split])]


def root_from_path(leaf: str, index: int, size: int, path: Sequence[str]) -> str:
    """The root that ``leaf`` at ``index`` and its audit path imply (RFC 9162 verification)."""
    fn, sn, current = index, size - 1, leaf
    for sibling in path:
        if fn % 2 == 1 or fn == sn:
            current = node_hash(sibling, current)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            current = node_hash(current, sibling)
        fn, sn = fn >> 1, sn >> 1
    return current
