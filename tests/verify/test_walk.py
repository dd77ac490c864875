"""DagWalk: a depth-first walk over blocks in any order, holding CIDs only."""

from __future__ import annotations

from bulkpin.verify import DagWalk

# root -> (a -> (a1, a2), b); a2 repeats under b: b -> (a2,)
TREE = {b"root": (b"a", b"b"), b"a": (b"a1", b"a2"), b"b": (b"a2",), b"a1": (), b"a2": ()}
DFS = [b"root", b"a", b"a1", b"a2", b"b"]


def test_blocks_in_depth_first_order_are_each_awaited_in_turn() -> None:
    walk = DagWalk(b"root")
    for cid in DFS:
        assert walk.next == cid
        walk.arrived(cid, TREE[cid])
    assert walk.next is None
    assert walk.visited == len(DFS)


def test_blocks_in_any_order_complete_the_walk() -> None:
    walk = DagWalk(b"root")
    for cid in reversed(DFS):
        walk.arrived(cid, TREE[cid])
    assert walk.next is None


def test_a_block_left_out_is_awaited_and_skipping_it_hides_its_children() -> None:
    walk = DagWalk(b"root")
    for cid in (b"root", b"b", b"a2"):  # "a" never comes
        walk.arrived(cid, TREE[cid])
    assert walk.next == b"a"
    assert walk.skip() == b"a"
    assert walk.next is None  # a1 is unknown without a; a2 and b came
