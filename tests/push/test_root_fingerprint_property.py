"""The tree fingerprint over random small trees, without a service.

Two properties carry the reuse of a root CID (:mod:`bulkpin.push.roots`):

- on an unchanged tree, the push's walk (following its root, reporting what it
  leaves out) folds to the digest of the walk ``cid -r`` runs;
- after any change, if the push walk's digest still equals the one kept with
  the old CID, the old CID is still the tree's CID.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bulkpin.fs import Selection, TreeFingerprint, walk_candidates
from bulkpin.push import PushOptions
from bulkpin.push.roots import WalkPrints, fingerprint_for
from bulkpin.unixfs import TreeEntry, TreeImporter

NAMES = st.sampled_from(["a", "b", "c", ".h", "d/e", "d/f", "d/.g", "d/e2/x", ".k/y"])
Kind = st.sampled_from(["file", "dir", "link"])
TREES = st.lists(st.tuples(NAMES, Kind, st.binary(max_size=6)), max_size=8)
CHANGES = st.tuples(
    st.sampled_from(["rewrite", "touch", "add", "remove", "rename", "mkdir", "retarget"]),
    NAMES, st.binary(max_size=6),
)
BASE_NS = 1_700_000_000 * 10**9  # fixed mtimes: a change is never hidden by the clock's tick


def build(root: Path, spec: list[tuple[str, str, bytes]]) -> None:
    root.mkdir()
    for n, (rel, kind, data) in enumerate(spec):
        path = root / rel
        if path.exists() or path.is_symlink():
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue  # a file or link already holds a parent's name
        if kind == "dir":
            path.mkdir()
        elif kind == "link":
            path.symlink_to(data.hex() or "nowhere")
        else:
            path.write_bytes(data)
            os.utime(path, ns=(BASE_NS, BASE_NS + n))


def change(root: Path, what: str, rel: str, data: bytes) -> None:
    path = root / rel
    exists = path.exists() or path.is_symlink()
    if what in ("rewrite", "touch") and path.is_file() and not path.is_symlink():
        st_ = path.stat()
        if what == "rewrite":
            path.write_bytes(bytes(b ^ 1 for b in path.read_bytes()))
        os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 10**9))
    elif what == "add" and not exists and path.parent.is_dir():
        path.write_bytes(data)
    elif what == "mkdir" and not exists and path.parent.is_dir():
        path.mkdir()
    elif what == "remove" and exists:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    elif what == "rename" and exists and not (root / "renamed").exists():
        path.rename(root / "renamed")
    elif what == "retarget" and path.is_symlink():
        path.unlink()
        path.symlink_to("elsewhere")


def cid_walk(root: Path, options: PushOptions) -> tuple[str | None, bytes | None]:
    """``cid -r``'s root CID, and the digest of the walk that computed it."""
    fold = fingerprint_for(options)
    importer = TreeImporter(options.profile, recursive=True, hidden=options.hidden,
                            hash_workers=1, observe=fold.add)
    found = None
    for result in importer.run([str(root)]):
        if isinstance(result, TreeEntry) and result.path == root.name.encode():
            found = result.cid
    return found, fold.digest


def push_walk(path: Path, options: PushOptions) -> bytes | None:
    """The digest the push's walk folds for ``path``."""
    prints = WalkPrints(options)
    for _ in walk_candidates([os.fsencode(path)], Selection(), hidden=options.hidden,
                             observe=prints.observe):
        pass
    return prints.digest(0)


@settings(max_examples=120, deadline=None, derandomize=True, database=None)
@given(spec=TREES, edit=CHANGES, hidden=st.booleans(), through_link=st.booleans())
def test_equal_fingerprints_mean_equal_root_cids(
    spec: list[tuple[str, str, bytes]], edit: tuple[str, str, bytes], hidden: bool,
    through_link: bool,
) -> None:
    options = PushOptions(hidden=hidden)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        build(tree, spec)
        path = tree
        if through_link:  # the PATH is a symlink to the tree
            path = Path(scratch) / "link"
            path.symlink_to("tree")
        cid, kept = cid_walk(path, options)
        assert kept is not None
        assert push_walk(path, options) == kept
        change(tree, *edit)
        new_cid, new_print = cid_walk(path, options)
        seen = push_walk(path, options)
        assert seen == new_print
        if seen == kept:
            assert new_cid == cid
        if new_cid != cid:
            assert seen != kept


def test_left_out_entries_do_not_count_and_errors_do(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"x")
    plain = push_walk(tree, PushOptions(hidden=False))
    (tree / ".dot").write_bytes(b"y")
    assert push_walk(tree, PushOptions(hidden=False)) == plain
    assert push_walk(tree, PushOptions(hidden=True)) != plain
    if os.geteuid() != 0:  # root lists anything
        (tree / "locked").mkdir(mode=0)
        try:
            with_error = push_walk(tree, PushOptions(hidden=False))
            assert with_error not in (None, plain)
        finally:
            (tree / "locked").chmod(0o700)
        assert push_walk(tree, PushOptions(hidden=False)) not in (None, plain, with_error)


def test_no_digest_until_the_walk_ends(tmp_path: Path) -> None:
    """A walk cut short (the run stopped) vouches for nothing."""
    (tmp_path / "t" / "d").mkdir(parents=True)
    (tmp_path / "t" / "d" / "f").write_bytes(b"x")
    fold = TreeFingerprint()
    entries = iter(walk_candidates([os.fsencode(tmp_path / "t")], Selection(),
                                   observe=lambda _: fold.add))
    next(entries)
    assert fold.digest is None
    for _ in entries:
        pass
    assert fold.digest is not None
