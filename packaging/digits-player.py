"""PyInstaller's entry point for `digits-player` (the same entry point as the console script)."""

import sys

from player.launch import player

sys.exit(player())
