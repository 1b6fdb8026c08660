"""PyInstaller's entry point for `digits-player` (the same main() as the console script)."""

import sys

from player.app import main

sys.exit(main())
