"""`python -m player`: the drawing app."""

import sys

from player.app import main

sys.exit(main())
