"""PyInstaller's entry point for `digits-predict` (the same main() as the console script)."""

import sys

from player.predict import main

sys.exit(main())
