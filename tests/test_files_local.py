"""File and Dir on local disk: every method, hashing by content identity, staging."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

import pytest

from bridge import Dir, File
from bridge.native.file import FileError, StagingDir, StagingFile, files_unchanged, find_files
from bridge.native.hashing import hash_value


def test_file_methods(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.txt"
    file = File(path)
    assert not file.exists()
    assert file.write("hello\nworld\n") is file  # creates the parent folder
    assert file.exists()
    assert file.read() == "hello\nworld\n"
    assert file.read("rb") == b"hello\nworld\n"
    assert file.size() == 12
    with file.open() as handle:
        assert handle.readline() == "hello\n"
    with File(tmp_path / "b.bin").open("wb") as handle:
        handle.write(b"\x00\x01")
    assert File(tmp_path / "b.bin").read("rb") == b"\x00\x01"
    assert file.basename() == "a.txt"
    assert file.dirname() == str(tmp_path / "sub")
    copy = file.copy_to(tmp_path / "c" / "copy.txt")
    assert copy == File(tmp_path / "c" / "copy.txt") and copy.read() == "hello\nworld\n"
    file.remove()
    assert not file.exists()


def test_a_small_file_hashes_by_content_so_a_touch_changes_nothing(tmp_path: Path) -> None:
    file = File(tmp_path / "a.txt")
    missing = file.hash
    file.write("one")
    first = file.hash
    assert first != missing and hash_value(file) == first
    assert File(str(tmp_path / "a.txt")).hash == first  # same path, same identity
    os.utime(file.path, ns=(1, 1))  # touched: same bytes
    assert File(file.path).hash == first
    file.write("two")  # same size, new bytes
    assert File(file.path).hash != first
    assert File(tmp_path / "other.txt").write("two").hash != file.hash  # path counts


def test_identity_stat_follows_size_and_mtime(tmp_path: Path) -> None:
    file = File(tmp_path / "a.txt", identity="stat").write("one")
    first = file.hash
    assert first != File(file.path).hash  # by content, the default for a small file
    os.utime(file.path, ns=(1, 1))
    assert File(file.path, identity="stat").hash != first
    copy = pickle.loads(pickle.dumps(file))
    assert copy.identity == "stat" and copy.hash == File(file.path, identity="stat").hash
    assert repr(copy) == f"File({file.path!r}, identity='stat')"
    with pytest.raises(ValueError, match=r"identity='mtime' is not one of 'content', 'stat'"):
        File(file.path, identity="mtime")  # type: ignore[arg-type]


def test_a_rewrite_with_the_same_bytes_keeps_the_hash_of_a_dir(tmp_path: Path) -> None:
    folder = Dir(tmp_path / "d")
    File(tmp_path / "d" / "x.txt").write("x")
    before = folder.hash
    File(tmp_path / "d" / "x.txt").write("x")  # re-made: new inode and mtime, same bytes
    assert Dir(tmp_path / "d").hash == before
    assert Dir(tmp_path / "d", identity="stat").file("x.txt").identity == "stat"


def test_copy_to_skip_if_exists_and_missing_source(tmp_path: Path) -> None:
    src = File(tmp_path / "src.txt").write("new")
    dest = File(tmp_path / "dest.txt").write("old")
    assert src.copy_to(dest, skip_if_exists=True).read() == "old"
    assert src.copy_to(dest).read() == "new"
    with pytest.raises(FileError, match=r"missing\.txt"):
        File(tmp_path / "missing.txt").copy_to(tmp_path / "x.txt")


def test_dir_iterates_and_hashes_its_files(tmp_path: Path) -> None:
    folder = Dir(str(tmp_path / "d") + "/")
    assert folder.path == str(tmp_path / "d") and not folder.exists()
    File(tmp_path / "d" / "b.txt").write("b")
    File(tmp_path / "d" / "sub" / "a.txt").write("aa")
    assert folder.exists()
    assert [f.path for f in folder] == [str(tmp_path / "d" / "b.txt"),
                                         str(tmp_path / "d" / "sub" / "a.txt")]
    assert folder.size() == 3
    assert folder.file("sub/a.txt").read() == "aa"
    before = folder.hash
    File(tmp_path / "d" / "sub" / "c.txt").write("c")
    assert folder.hash != before
    copied = folder.copy_to(tmp_path / "e")
    assert sorted(copied.rel_path(f) for f in copied) == ["b.txt", "sub/a.txt", "sub/c.txt"]


def test_staging_pairs_remote_and_local(tmp_path: Path) -> None:
    remote = File(tmp_path / "remote.txt").write("data")
    staged = remote.stage(str(tmp_path / "local.txt"))
    assert isinstance(staged, StagingFile) and staged.remote == remote
    assert remote.stage().local.path == "remote.txt"  # default: the basename
    assert staged.stage().read() == "data"
    File(tmp_path / "local.txt").write("changed")
    assert staged.unstage().read() == "changed"
    assert isinstance(Dir(tmp_path).stage("d"), StagingDir)
    assert pickle.loads(pickle.dumps(staged)) == staged


def test_redun_file_and_dir_methods(tmp_path: Path) -> None:
    """The File and Dir methods redun's scripts call, on local disk."""
    made = File(tmp_path / "new" / "empty.txt")
    made.touch()
    assert made.isfile() and not made.isdir() and made.read() == ""
    assert made.get_hash() == made.hash
    made.touch((1_000_000, 2_000_000))
    assert os.path.getmtime(made.path) == 2_000_000
    lines = File(tmp_path / "lines.txt").write("a\nb\n")
    assert lines.readlines() == ["a\n", "b\n"] and lines.readlines("rb") == [b"a\n", b"b\n"]
    folder = Dir(tmp_path / "out" / "deep")
    folder.mkdir()
    assert folder.exists() and File(folder.path).isdir()
    assert folder.rel_path(str(tmp_path)) == "../.." and Dir(tmp_path).rel_path(made) == \
        "new/empty.txt"
    copy = File(folder.path + "/copied.txt")
    subprocess.run(lines.shell_copy_to(copy.path), shell=True, check=True)
    assert copy.read() == "a\nb\n"
    with pytest.raises(FileError, match="not empty"):
        folder.rmdir()
    folder.rmdir(recursive=True)
    assert not folder.exists()
    Dir(tmp_path / "out").rmdir()
    assert not os.path.exists(tmp_path / "out")
    assert File("s3://bucket/k/reads.fq").stage("lanes/").local.path == "lanes/reads.fq"
    with pytest.raises(ValueError, match="binary mode 'rb' takes no encoding"):
        lines.open("rb", encoding="utf-8")


def test_find_files_and_files_unchanged(tmp_path: Path) -> None:
    a = File(tmp_path / "a.txt").write("a")
    folder = Dir(tmp_path / "d")
    File(tmp_path / "d" / "x.txt").write("x")
    recorded = find_files({"a": a, "nested": [(folder, 3)], "n": 1})
    assert recorded == [[a.path, a.hash], [folder.path + "/", folder.hash]]
    assert files_unchanged(recorded)
    File(tmp_path / "d" / "x.txt").write("xx")
    assert not files_unchanged(recorded)
    assert not files_unchanged([[a.path, a.hash], [str(tmp_path / "gone.txt"), a.hash]])


def test_an_identity_of_its_own_is_recorded_and_checked_that_way(tmp_path: Path) -> None:
    by_stat = File(tmp_path / "s.txt", identity="stat").write("s")
    recorded = find_files([by_stat, File(tmp_path / "s.txt")])
    assert recorded == [[by_stat.path, by_stat.hash, "stat"],
                        [by_stat.path, File(by_stat.path).hash]]
    assert files_unchanged(recorded)
    os.utime(by_stat.path, ns=(1, 1))  # same bytes: only the stat entry sees a change
    assert not files_unchanged(recorded[:1]) and files_unchanged(recorded[1:])
