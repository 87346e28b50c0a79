"""RFC 6962 consistency proofs: the RFC's own worked example, then every small tree.

A consistency proof shows that the tree a checkpoint signed at ``m`` leaves is a prefix of the
tree signed at ``n``. It must hold for every ``m <= n`` over an honest log, and fail whenever
the first ``m`` leaves were rewritten before ``n`` was signed (a fork).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.integrity import merkle

MAX_LEAVES = 40


def _leaves(n: int, salt: bytes = b"") -> list[str]:
    return [merkle.leaf_hash(salt + bytes([i])) for i in range(n)]


def test_the_rfcs_seven_leaf_example_gives_its_three_proofs() -> None:
    # RFC 6962, 2.1.3: a..f and j are leaves d0..d6; g, h, i, k, l are nodes.
    a, b, c, d, e, f, j = _leaves(7)
    g, h, i = merkle.node_hash(a, b), merkle.node_hash(c, d), merkle.node_hash(e, f)
    k, l = merkle.node_hash(g, h), merkle.node_hash(i, j)  # noqa: E741 (the RFC's names)
    root = merkle.node_hash(k, l)
    hash0, hash1, hash2 = merkle.node_hash(g, c), k, merkle.node_hash(k, i)
    leaves = [a, b, c, d, e, f, j]
    assert merkle.tree_root(leaves) == root

    assert merkle.consistency_proof(leaves, 3) == [c, d, g, l]
    assert merkle.consistency_proof(leaves, 4) == [l]
    assert merkle.consistency_proof(leaves, 6) == [i, j, k]
    assert merkle.verify_consistency(3, 7, hash0, root, [c, d, g, l])
    assert merkle.verify_consistency(4, 7, hash1, root, [l])
    assert merkle.verify_consistency(6, 7, hash2, root, [i, j, k])


def test_a_proof_fails_for_the_wrong_roots_sizes_or_nodes() -> None:
    leaves = _leaves(7)
    proof = merkle.consistency_proof(leaves, 3)
    first, second = merkle.tree_root(leaves[:3]), merkle.tree_root(leaves)
    assert merkle.verify_consistency(3, 7, first, second, proof)
    assert not merkle.verify_consistency(3, 7, second, second, proof)
    assert not merkle.verify_consistency(3, 7, first, first, proof)
    assert not merkle.verify_consistency(2, 7, first, second, proof)
    assert not merkle.verify_consistency(3, 7, first, second, proof[:-1])
    assert not merkle.verify_consistency(3, 7, first, second, [*proof, proof[0]])
    assert not merkle.verify_consistency(3, 7, first, second, list(reversed(proof)))
    assert not merkle.verify_consistency(7, 3, second, first, proof)


def test_the_edges_empty_and_equal_trees() -> None:
    leaves = _leaves(5)
    root = merkle.tree_root(leaves)
    assert merkle.consistency_ranges(0, 5) == []
    assert merkle.consistency_ranges(5, 5) == []
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])
    assert not merkle.verify_consistency(0, 5, root, root, [])
    assert merkle.verify_consistency(5, 5, root, root, [])
    assert not merkle.verify_consistency(5, 5, root, merkle.tree_root(leaves[:4]), [])
    with pytest.raises(ValueError, match="0 <= first <= second"):
        merkle.consistency_ranges(6, 5)


def test_every_proof_over_every_small_tree_verifies_and_one_pass_finds_its_nodes() -> None:
    for n in range(1, MAX_LEAVES + 1):
        leaves = _leaves(n)
        wanted = {r for m in range(n + 1) for r in merkle.consistency_ranges(m, n)}
        wanted |= {(0, m) for m in range(1, n + 1)}
        one_pass = merkle.RangeRoots(wanted)
        for leaf in leaves:
            one_pass.add(leaf)
        for m in range(n + 1):
            proof = merkle.consistency_proof(leaves, m)
            first, second = merkle.tree_root(leaves[:m]), merkle.tree_root(leaves)
            assert merkle.verify_consistency(m, n, first, second, proof), (m, n)
            assert [one_pass.found[r] for r in merkle.consistency_ranges(m, n)] == proof
            if m:
                assert one_pass.found[(0, m)] == first


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_rewritten_prefix_makes_every_proof_fail(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, MAX_LEAVES), label="n")
    m = data.draw(st.integers(1, n), label="m")
    changed = data.draw(st.integers(0, n - 1), label="changed leaf")
    honest = _leaves(n)
    forked = list(honest)
    forked[changed] = merkle.leaf_hash(b"forged" + bytes([changed]))
    signed_first = merkle.tree_root(honest[:m])
    signed_second = merkle.tree_root(forked)  # signed after the leaf was changed
    holds = [
        merkle.verify_consistency(m, n, signed_first, signed_second, proof)
        for proof in (merkle.consistency_proof(forked, m), merkle.consistency_proof(honest, m))
    ]
    if changed < m:
        assert holds == [False, False]  # the signed prefix was rewritten: no proof can hold
    else:
        assert holds[0]  # only leaves after the first checkpoint changed: still consistent


def test_an_audit_path_holds_only_at_its_own_position() -> None:
    # RFC 9162, 2.1.3.2 checks the index is inside the tree and that the path used it all up;
    # without that, the last leaf of a 3-leaf tree also "proved" to sit at position 1.
    for n in range(1, MAX_LEAVES + 1):
        leaves = _leaves(n)
        root = merkle.tree_root(leaves)
        for index in range(n):
            path = merkle.inclusion_path(leaves, index)
            assert merkle.root_from_path(leaves[index], index, n, path) == root
            for elsewhere in range(n + 3):
                if elsewhere != index:
                    implied = merkle.root_from_path(leaves[index], elsewhere, n, path)
                    assert implied != root, (n, index, elsewhere)
            assert merkle.root_from_path(leaves[index], index, n, [*path, root]) is None
