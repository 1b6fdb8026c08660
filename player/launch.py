"""The programs' entry points (the console scripts, `python -m player` and the bundled app).

Ctrl+C while Python is still importing numpy, onnxruntime or pygame (about the first half
second) ends the program the way Ctrl+C does later, status 130 and no traceback: the entry
point imports the program's module itself instead of leaving that to the console script.
The imports are written out (not importlib) so that PyInstaller sees them.
"""

from __future__ import annotations

INTERRUPTED = 130  # the shell's status for a program ended by Ctrl+C, as the programs' main() return


def player() -> int:
    """digits-player: the drawing app (player/app.py)."""
    try:
        from player.app import main
    except KeyboardInterrupt:
        return INTERRUPTED
    return main()


def predict() -> int:
    """digits-predict: drawings and pictures read from the command line (player/predict.py)."""
    try:
        from player.predict import main
    except KeyboardInterrupt:
        return INTERRUPTED
    return main()
