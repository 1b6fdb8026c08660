"""What the standalone app and the wheel rely on: the model found inside a PyInstaller bundle,
the window icon, the .desktop entry. (Building the app itself takes minutes: .ci/run does it.)"""

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from player.icon import icon
from player.model import MODEL_FILE, find_model

ROOT = Path(__file__).resolve().parents[2]


def test_frozen_app_finds_its_own_model(monkeypatch, tmp_path):
    """PyInstaller unpacks data under sys._MEIPASS: that copy wins over any installed one."""
    inside = tmp_path / "player" / "models" / MODEL_FILE
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"onnx")
    monkeypatch.delenv("DIGITS_MODEL", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert find_model() == inside


def test_not_frozen_ignores_meipass(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITS_MODEL", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert tmp_path not in find_model().parents


def test_icon_is_ink_on_canvas_with_transparent_corners():
    surface = icon(64)
    assert surface.get_size() == (64, 64)
    assert surface.get_at((0, 0)).a == 0  # rounded corners
    centre_column = [surface.get_at((x, 16)) for x in range(20, 44)]  # the top bar of the "7"
    assert max(c.r + c.g + c.b for c in centre_column) > 600  # white ink
    assert surface.get_at((8, 40)).a == 255 and sum(surface.get_at((8, 40))[:3]) < 100  # dark canvas


def test_icon_png_for_the_desktop_entry(tmp_path):
    out = tmp_path / "digits.png"
    run = subprocess.run([sys.executable, "-m", "player.icon", str(out), "48"], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0 and run.stdout == "" and run.stderr == "", run
    assert pygame.image.load(str(out)).get_size() == (48, 48)
    bad = subprocess.run([sys.executable, "-m", "player.icon"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("usage:")


def test_desktop_entry():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(ROOT / "packaging" / "digits.desktop")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"] == "digits-player" and d["Icon"] == "digits"
    assert d["StartupWMClass"] == "digits-player"  # the window class the player sets, so docks match it
    assert 'SDL_VIDEO_X11_WMCLASS", "digits-player"' in (ROOT / "player" / "app.py").read_text()


def desktop_exec_argument(value: str) -> str:
    r"""The one argument of an Exec= value, decoded as the Desktop Entry spec says: the string
    escapes first (\\ is a backslash), then the quoting (\" \` \$ \\ inside "..."), %% is %."""
    value = re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[m[1]], value)
    assert value.startswith('"') and value.endswith('"'), value
    inner = value[1:-1]
    assert not re.search(r'(?<!\\)["`$]', inner.replace("\\\\", "")), value  # all escaped
    return re.sub(r'\\(["`$\\])', r"\1", inner).replace("%%", "%")


def test_install_desktop_entry_from_a_folder_with_awkward_characters(tmp_path):
    # the script put the folder into Exec= with sed: "&" in the path (~/Apps & Tools/) came out
    # as the text sed had matched, and "|" stopped sed with an error
    if shutil.which("sh") is None or shutil.which("awk") is None:
        pytest.skip("needs sh and awk")
    folder = tmp_path / 'Apps & Tools | 100% "mine" $HOME `x` back\\slash' / "digits"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "packaging" / "install-desktop-entry.sh", folder)
    shutil.copy(ROOT / "packaging" / "digits.desktop", folder)
    (folder / "digits.png").write_bytes(b"png")
    data = tmp_path / "data"
    run = subprocess.run(["sh", str(folder / "install-desktop-entry.sh")], capture_output=True, text=True,
                         env={**os.environ, "XDG_DATA_HOME": str(data)})
    assert run.returncode == 0, run.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(data / "applications" / "digits.desktop")
    d = entry["Desktop Entry"]
    assert desktop_exec_argument(d["Exec"]) == str(folder / "digits-player")
    assert d["Icon"] == "digits" and d["StartupWMClass"] == "digits-player"  # the rest as it was
    assert (data / "icons" / "hicolor" / "64x64" / "apps" / "digits.png").read_bytes() == b"png"
