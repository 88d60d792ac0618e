"""File over HTTP (read only), against a real local HTTP server on 127.0.0.1. Paths
under /etag/ are served with an ETag of their content; the others carry only
Last-Modified."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bridge import File, copy_dir, copy_file, glob_file, script
from bridge.native.file import FileError


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        if self.path.startswith("/etag/"):
            content = Path(self.translate_path(self.path)).read_bytes()
            self.send_header("ETag", f'"{hashlib.md5(content).hexdigest()}"')
        super().end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, served folder)."""
    root = tmp_path_factory.mktemp("http")
    (root / "etag").mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_http_file_methods(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    (root / "a.txt").write_text("hello\nworld\n")
    file = File(f"{base}/a.txt")
    assert file.exists() and not File(f"{base}/missing.txt").exists()
    assert file.size() == 12
    assert file.read() == "hello\nworld\n" and file.read("rb") == b"hello\nworld\n"
    with file.open() as handle:
        assert handle.readline() == "hello\n"
    assert file.basename() == "a.txt" and file.dirname() == base
    assert file.copy_to(tmp_path / "a.txt").read() == "hello\nworld\n"
    assert file.stage(str(tmp_path / "staged.txt")).stage().read() == "hello\nworld\n"
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        File(f"{base}/missing.txt").read()


def test_http_is_read_only(http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    with pytest.raises(FileError, match="read only"):
        File(f"{base}/new.txt").write("x")
    with pytest.raises(FileError, match="read only"):
        File(f"{base}/new.txt").stage("x").shell_unstage()


@pytest.mark.parametrize("folder", ["", "etag/"])
def test_http_hash_follows_etag_else_last_modified(http_root: tuple[str, Path], folder: str
                                                   ) -> None:
    base, root = http_root
    path = root / folder / "data.txt"
    path.write_text("one")
    os.utime(path, (1_000_000, 1_000_000))
    file = File(f"{base}/{folder}data.txt")
    first = file.hash
    assert file.hash == first
    os.utime(path, (1_500_000, 1_500_000))  # the same content, a new Last-Modified
    touched = file.hash
    # an ETag wins over Last-Modified; without one, Last-Modified is the identity
    assert (touched == first) if folder == "etag/" else (touched != first)
    path.write_text("two")
    os.utime(path, (2_000_000, 2_000_000))
    assert file.hash not in (first, touched)


def test_http_folders_cannot_be_listed(scheduler: Any, http_root: tuple[str, Path],
                                       workdir: Path) -> None:
    base, _ = http_root
    with pytest.raises(FileError, match=r"cannot be globbed; name the files"):
        scheduler.run(glob_file(f"{base}/*.txt"))
    with pytest.raises(FileError, match=r"cannot be listed; name the files"):
        scheduler.run(copy_dir(f"{base}/reads", str(workdir / "reads")))


def test_script_stages_http_inputs_with_curl(scheduler: Any, http_root: tuple[str, Path]
                                             ) -> None:
    base, root = http_root
    (root / "page.txt").write_text("served\n")
    result = scheduler.run(script("cat page.txt", inputs=[File(f"{base}/page.txt").stage(
        "page.txt")]))
    assert result == "served\n"


def test_copy_file_from_http_to_s3_and_local(scheduler: Any, http_root: tuple[str, Path],
                                             s3_bucket: str, workdir: Path) -> None:
    base, root = http_root
    (root / "ref.fa").write_text(">chr1\nACGT\n")
    to_s3 = scheduler.run(copy_file(File(f"{base}/ref.fa"), f"s3://{s3_bucket}/ref/ref.fa"))
    assert to_s3 == File(f"s3://{s3_bucket}/ref/ref.fa") and to_s3.read() == ">chr1\nACGT\n"
    local = scheduler.run(copy_file(f"{base}/ref.fa", str(workdir / "ref.fa")))
    assert local.read() == ">chr1\nACGT\n"
