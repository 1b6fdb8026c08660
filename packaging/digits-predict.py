"""PyInstaller's entry point for `digits-predict` (the same entry point as the console script)."""

import sys

from player.launch import predict

sys.exit(predict())
