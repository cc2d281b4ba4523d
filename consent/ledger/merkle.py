"""RFC 9162 (Certificate Transparency v2) Merkle trees: hashes, proofs and their checks.

- Leaf hash ``SHA-256(0x00 || data)`` and node hash ``SHA-256(0x01 || left || right)``,
  RFC 9162 section 2.1.1; the empty tree's root is ``SHA-256("")``.
- Inclusion proofs: made per section 2.1.3.1, verified per section 2.1.3.2.
- Consistency proofs: made per section 2.1.4.1, verified per section 2.1.4.2.
- ``Frontier``: the right edge of a tree (one hash per set bit of its size), enough to
  append a leaf and compute the root in O(log n) time and memory. Appends and streaming
  verification both use it.

Verify functions return None or raise VerificationError; they never return False.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from consent.errors import VerificationError

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of a sequence of leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    return _subtree(leaves, 0, len(leaves))


def _subtree(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 1:
        return leaves[start]
    k = _split(n)
    return node_hash(_subtree(leaves, start, start + k), _subtree(leaves, start + k, end))


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) for the first ``size`` leaf hashes (default: all of them)."""
    size = len(leaves) if size is None else size
    if not 0 <= index < size <= len(leaves):
        raise ValueError(f"expected 0 <= index < size <= {len(leaves)}, got index {index}, size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_subtree(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_subtree(leaves, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(leaves: Sequence[bytes], size1: int, size2: int | None = None) -> list[bytes]:
    """PROOF(size1, D[size2]): shows that the tree of size1 is a prefix of the tree of size2."""
    size2 = len(leaves) if size2 is None else size2
    if not 0 < size1 <= size2 <= len(leaves):
        raise ValueError(f"expected 0 < size1 <= size2 <= {len(leaves)}, got {size1}, {size2}")
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_subtree(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_subtree(leaves, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(_subtree(leaves, start, end))
    proof.reverse()
    return proof


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{name}: expected a {HASH_SIZE}-byte hash, got {len(value)} bytes")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> None:
    """RFC 9162 section 2.1.3.2: ``leaf`` is at ``index`` in the tree of ``size`` with this root."""
    _check_hash("leaf hash", leaf)
    _check_hash("root", expected_root)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    if not 0 <= index < size:
        raise VerificationError(f"inclusion: expected index < tree size, got index {index}, size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError(f"inclusion: proof too long for index {index} in size {size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"inclusion: proof too short for index {index} in size {size}")
    if r != expected_root:
        raise VerificationError(f"inclusion: proof for index {index} does not lead to the root of size {size}")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 section 2.1.4.2: the tree of size1 with root1 is a prefix of size2 with root2."""
    _check_hash("first root", root1)
    _check_hash("second root", root2)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    if size1 == 0:
        raise VerificationError("consistency: expected a first size above 0, got 0 (every tree extends the empty one)")
    if size1 > size2:
        raise VerificationError(f"consistency: expected size1 <= size2, got {size1} > {size2}")
    if size1 == size2:
        if proof:
            raise VerificationError(f"consistency: expected an empty proof for equal sizes, got {len(proof)} hashes")
        if root1 != root2:
            raise VerificationError(f"consistency: two different roots for the same size {size1}")
        return
    if not proof:
        raise VerificationError(f"consistency: expected a proof from size {size1} to {size2}, got none")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(f"consistency: proof too long from size {size1} to {size2}")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(f"consistency: proof too short from size {size1} to {size2}")
    if fr != root1:
        raise VerificationError(f"consistency: proof does not lead to the root of size {size1}")
    if sr != root2:
        raise VerificationError(f"consistency: proof does not lead to the root of size {size2}")


class Frontier:
    """The right edge of a Merkle tree: the roots of its perfect subtrees, largest first.

    A tree of size n has one such subtree per set bit of n, so the frontier holds at
    most 64 hashes whatever the size, and is all an append or a streaming check needs.
    """

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} hashes, got {len(hashes)}")
        self.size = size
        self._hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        self._hashes.append(leaf)
        # Merge equal-sized subtrees: one merge per trailing 1-bit of the old size.
        n = self.size
        while n & 1:
            right = self._hashes.pop()
            self._hashes[-1] = node_hash(self._hashes[-1], right)
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r

    def to_bytes(self) -> bytes:
        return b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])
