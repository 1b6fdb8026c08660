"""player.errors.first_line: the one line every command prints from a library's exception."""

import sys

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


@pytest.mark.parametrize("program, module", [("player", "player.app"), ("predict", "player.predict")])
def test_ctrl_c_while_the_program_still_imports_ends_it_without_a_traceback(program, module, monkeypatch):
    """The console scripts, `python -m player` and the bundle start at player.launch: Ctrl+C
    during the first half second (importing numpy, onnxruntime, pygame) is status 130."""
    import builtins

    from player import launch

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == module:
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert getattr(launch, program)() == 130
