"""File and Dir on S3, against a real moto server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from bridge import Dir, File
from bridge.native.file import FileError, files_unchanged, find_files
from bridge.native.filesystem import get_filesystem
from bridge.native.values import ValueStore


def test_s3_file_methods(s3_bucket: str, tmp_path: Path) -> None:
    file = File(f"s3://{s3_bucket}/dir/a.txt")
    assert not file.exists()
    file.write("hello\nworld\n")
    assert file.exists() and file.size() == 12
    assert file.read() == "hello\nworld\n" and file.read("rb") == b"hello\nworld\n"
    with file.open() as handle:
        assert handle.readline() == "hello\n"
    with File(f"s3://{s3_bucket}/dir/b.bin").open("wb") as handle:
        handle.write(b"\x00\x01")
    assert File(f"s3://{s3_bucket}/dir/b.bin").read("rb") == b"\x00\x01"
    assert file.basename() == "a.txt" and file.dirname() == f"s3://{s3_bucket}/dir"
    # Copies between S3 and local disk, both ways, and within S3.
    local = file.copy_to(tmp_path / "a.txt")
    assert local.read() == "hello\nworld\n"
    back = local.copy_to(f"s3://{s3_bucket}/back/a.txt")
    assert back.read() == "hello\nworld\n"
    within = file.copy_to(File(f"s3://{s3_bucket}/copy/a.txt"))
    assert within.read() == "hello\nworld\n"
    assert file.stage(str(tmp_path / "in.txt")).stage().read() == "hello\nworld\n"
    file.remove()
    assert not file.exists()
    with pytest.raises(FileNotFoundError, match=r"a\.txt"):
        file.read()


def test_s3_hash_is_the_etag(s3_bucket: str) -> None:
    file = File(f"s3://{s3_bucket}/a.txt")
    missing = file.hash
    file.write("one")
    first = file.hash
    etag = boto3.client("s3").head_object(Bucket=s3_bucket, Key="a.txt")["ETag"].strip('"')
    assert get_filesystem(file.path).identity(file.path) == etag
    assert first != missing
    file.write("one")  # same content, same ETag: still the same file
    assert file.hash == first
    file.write("two")
    assert file.hash != first


def test_s3_dir(s3_bucket: str, tmp_path: Path) -> None:
    folder = Dir(f"s3://{s3_bucket}/d/")
    assert not folder.exists()
    File(f"s3://{s3_bucket}/d/b.txt").write("b")
    File(f"s3://{s3_bucket}/d/sub/a.txt").write("aa")
    File(f"s3://{s3_bucket}/dd/other.txt").write("not in d")
    assert folder.exists()
    assert [folder.rel_path(f) for f in folder] == ["b.txt", "sub/a.txt"]
    assert folder.size() == 3
    recorded = find_files(folder)
    assert files_unchanged(recorded)
    File(f"s3://{s3_bucket}/d/sub/a.txt").write("changed")
    assert not files_unchanged(recorded)
    local = folder.copy_to(tmp_path / "d")
    assert (tmp_path / "d" / "sub" / "a.txt").read_text() == "changed"
    assert [local.rel_path(f) for f in local] == ["b.txt", "sub/a.txt"]


def test_s3_redun_file_and_dir_methods(s3_bucket: str, tmp_path: Path) -> None:
    """The File and Dir methods redun's scripts call, on S3: a touch makes an empty
    object, a folder is a prefix (nothing to make), and removing one removes its keys."""
    marker = File(f"s3://{s3_bucket}/flags/done")
    marker.touch()
    assert marker.isfile() and not marker.isdir() and marker.read() == ""
    assert File(f"s3://{s3_bucket}/flags").isdir()
    folder = Dir(f"s3://{s3_bucket}/made")
    folder.mkdir()
    folder.file("a/b.txt").write("b")
    assert folder.rel_path(f"s3://{s3_bucket}/made/a/b.txt") == "a/b.txt"
    with pytest.raises(FileError, match="not empty"):
        folder.rmdir()
    folder.rmdir(recursive=True)
    assert not folder.exists()
    local = File(tmp_path / "x.txt").write("x")
    command = local.shell_copy_to(f"s3://{s3_bucket}/up/x.txt")
    assert command.startswith("aws s3 cp") and command.endswith(f"s3://{s3_bucket}/up/x.txt")


def test_value_store_on_s3(s3_bucket: str) -> None:
    store = ValueStore(f"s3://{s3_bucket}/values")
    location = store.put("ab" * 32, b"payload")
    assert location == f"s3://{s3_bucket}/values/ab/{'ab' * 32}"
    assert store.get(location, "ab" * 32) == b"payload"


def test_boto3_is_loaded_only_for_s3_paths(tmp_path: Path) -> None:
    code = (
        "import sys, bridge\n"
        f"bridge.File({str(tmp_path / 'x')!r}).write('x')\n"
        "assert 'boto3' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bucketless_path_is_a_clear_error() -> None:
    with pytest.raises(FileError, match="names no bucket"):
        File("s3:///key").exists()


def test_a_missing_bucket_is_a_clear_error(moto_server: str, tmp_path: Path) -> None:
    file = File("s3://no-such-bucket/dir/a.txt")
    assert not file.exists() and not Dir("s3://no-such-bucket/dir").exists()
    expected = r"s3://no-such-bucket/dir/a\.txt: the bucket no-such-bucket does not exist"
    with pytest.raises(FileError, match=expected):
        file.write("x")
    with pytest.raises(FileError, match=expected):
        File(tmp_path / "local.txt").write("x").copy_to(file)  # through boto3's transfer
    with pytest.raises(FileError, match="the bucket no-such-bucket does not exist"):
        Dir("s3://no-such-bucket/dir").files()
