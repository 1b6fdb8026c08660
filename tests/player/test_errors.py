"""player.errors.first_line: the one line every command prints from a library's exception."""

import pytest

from player.errors import first_line


@pytest.mark.parametrize("error,expected", [
    (ValueError("bad value\nTraceback (most recent call last):\n  ..."), "bad value"),
    (OSError("\n\n   disk full  \nmore"), "disk full"),
    (KeyError(), "KeyError"),  # an empty message: `str(e).splitlines()[0]` raised IndexError here
    (RuntimeError("   \n  "), "RuntimeError"),
    (ValueError("x" * 500), "x" * 200),
])
def test_first_line(error, expected):
    assert first_line(error) == expected
