"""RFC 6962 hashing (Certificate Transparency's Merkle tree), and per-stream hash chains.

Leaves and nodes are hashed with distinct prefixes (0x00, 0x01), so a leaf can never pass for a
node. The tree over n leaves splits at the largest power of two below n; its root is kept
incrementally as a *frontier*: the roots of the perfect subtrees that n's binary digits
describe, largest first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from uuid import UUID

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
GENESIS = bytes(32)

Frontier = list[tuple[int, str]]  # (leaves in the subtree, its root), largest subtree first
Range = tuple[int, int]  # leaves [start, end) of the log: a node of some tree over it


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
    return [tree_root(leaves[a:b]) for a, b in inclusion_ranges(index, len(leaves))]


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The nodes of the ``size``-leaf tree whose roots make the audit path of leaf ``index``.

    ``PATH(m, D[n])`` (RFC 6962, 2.1.1) as leaf ranges, leaf first, so that a caller can hash
    just those nodes in one pass (``RangeRoots``) instead of holding the tree.
    """
    if not 0 <= index < size:
        msg = f"an audit path needs 0 <= index < size (got {index} and {size})"
        raise ValueError(msg)
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        split = start + (1 << ((end - start - 1).bit_length() - 1))
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    return ranges[::-1]


def root_from_path(leaf: str, index: int, size: int, path: Sequence[str]) -> str | None:
    """The root that ``leaf`` at ``index`` and its audit path imply (RFC 9162, 2.1.3.2).

    None when no tree of ``size`` leaves has such a path: the index outside the tree, or a
    path that is too short or too long for the index. Without those checks a path also
    "proved" its leaf at other positions (the last of three leaves at position 1).
    """
    if not 0 <= index < size:
        return None
    fn, sn, current = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            current = node_hash(sibling, current)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            current = node_hash(current, sibling)
        fn, sn = fn >> 1, sn >> 1
    return current if sn == 0 else None


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The nodes of the ``second``-leaf tree whose roots make the RFC 6962 consistency proof.

    ``PROOF(m, D[n])`` (RFC 6962, 2.1.2) as leaf ranges rather than hashes, so that a caller
    with a million leaves can hash just those ranges in one pass (``RangeRoots``) instead of
    holding the tree. Each range is a node of the larger tree: a perfect subtree, or a node on
    its right edge.
    """
    if not 0 <= first <= second:
        msg = f"a consistency proof needs 0 <= first <= second (got {first} and {second})"
        raise ValueError(msg)
    if first in (0, second):
        return []
    return _subproof(first, 0, second, complete=True)


def _subproof(m: int, start: int, end: int, *, complete: bool) -> list[Range]:
    n = end - start
    if m == n:
        return [] if complete else [(start, end)]
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    if m <= k:
        return [*_subproof(m, start, start + k, complete=complete), (start + k, end)]
    return [*_subproof(m - k, start + k, end, complete=False), (start, start + k)]


def consistency_proof(leaves: Sequence[str], first: int) -> list[str]:
    """The proof that the tree of the first ``first`` leaves is a prefix of the whole tree."""
    return [tree_root(leaves[a:b]) for a, b in consistency_ranges(first, len(leaves))]


def verify_consistency(
    first: int, second: int, first_root: str, second_root: str, proof: Sequence[str]
) -> bool:
    """Whether ``proof`` shows the ``first``-leaf tree is a prefix of the ``second``-leaf one.

    RFC 9162, 2.1.4.2. The empty tree is a prefix of every tree, and a tree is consistent with
    itself only when the roots are equal (both with an empty proof).
    """
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if not path:
        return False
    if first & (first - 1) == 0:  # an exact power of two: its root is a node of the larger tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(node, fr), node_hash(node, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, node)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


class RangeRoots:
    """Roots of chosen tree nodes, found in one pass over the leaves (never all in memory).

    A wanted range must be a node of the tree over its own end: a perfect subtree (caught as
    the frontier merges it) or a node on that tree's right edge (folded from the frontier when
    the end is reached). ``[0, n)`` is the root of the first ``n`` leaves.
    """

    def __init__(self, wanted: Iterable[Range]) -> None:
        self.by_end: dict[int, set[int]] = {}
        for start, end in wanted:
            self.by_end.setdefault(end, set()).add(start)
        self.frontier: Frontier = []
        self.count = 0
        self.found: dict[Range, str] = {}

    def want(self, wanted: Iterable[Range]) -> None:
        """Ask for more nodes too, each ending after the leaves added so far."""
        for start, end in wanted:
            self.by_end.setdefault(end, set()).add(start)

    def subtrees(self) -> dict[Range, str]:
        """The perfect subtrees the leaves so far make (the frontier), by range."""
        found, offset = {}, 0
        for size, subtree in self.frontier:
            found[(offset, offset + size)] = subtree
            offset += size
        return found

    def add(self, leaf: str) -> None:
        """One more leaf."""
        self.count += 1
        end = self.count
        starts = self.by_end.get(end)
        grown = [*self.frontier, (1, leaf)]
        if starts and end - 1 in starts:
            self.found[(end - 1, end)] = leaf
        while len(grown) > 1 and grown[-1][0] == grown[-2][0]:
            (size, left), (_, right) = grown[-2], grown[-1]
            grown[-2:] = [(size * 2, node_hash(left, right))]
            if starts and end - size * 2 in starts:
                self.found[(end - size * 2, end)] = grown[-1][1]
        self.frontier = grown
        if starts:
            self._fold_edges(end, starts)

    def _fold_edges(self, end: int, starts: set[int]) -> None:
        offset, boundaries = 0, {}
        for index, (size, _) in enumerate(self.frontier):
            boundaries[offset] = index
            offset += size
        for start in starts:
            if (start, end) in self.found or start not in boundaries:
                continue
            subtrees = self.frontier[boundaries[start] :]
            current = subtrees[-1][1]
            for _, subtree in reversed(subtrees[:-1]):
                current = node_hash(subtree, current)
            self.found[(start, end)] = current
