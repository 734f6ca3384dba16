"""File paths from URLs are made safe before they touch the disk."""

from __future__ import annotations

import pytest

from jupyter_tracker.server.files import clean_path


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a.txt", "a.txt"),
        ("code/cells.py", "code/cells.py"),
        ("a//b/./c", "a/b/c"),
        ("./a/", "a"),
        ("dir/..hidden", "dir/..hidden"),
        ("été/ü.txt", "été/ü.txt"),
    ],
)
def test_clean_paths(raw: str, clean: str) -> None:
    assert clean_path(raw) == clean


@pytest.mark.parametrize(
    "raw",
    ["", "/etc/passwd", "..", "../x", "a/../../x", "a/..", "a\\b", "a\x00b", "a\nb", ".", "./", "//", "x" * 1025,
     "a/" + "y" * 256],
)
def test_unsafe_paths_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        clean_path(raw)
