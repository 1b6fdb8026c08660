"""`python -m player`: the drawing app."""

import sys

from player.launch import player

sys.exit(player())
