"""What the standalone app and the wheel rely on: the model found inside a PyInstaller bundle,
the window icon, the .desktop entry. (Building the app itself takes minutes: .ci/run does it.)"""

import configparser
import subprocess
import sys
from pathlib import Path

import pygame

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
