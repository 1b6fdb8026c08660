"""digits player: draw a digit, get an answer, no TensorFlow at runtime."""

__version__ = "0.1.0"

# Below this top probability a digit reads "?". Chosen on the validation writers' pen digits
# (benchmarks/pen_eval.py prints the trade-off); shared by the app and digits-predict.
DEFAULT_THRESHOLD = 0.5


def probability(text: str) -> float:
    """argparse type for --threshold: a number from 0 to 1."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


def window_size(text: str) -> tuple[int, int]:
    """argparse type for the player's --size: WIDTHxHEIGHT, at least 320x240 and at most
    16384x16384 (SDL's largest window: beyond it the window cannot be made at all)."""
    import argparse

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, like 1000x640, got {text!r}") from None
    if w < 320 or h < 240:
        raise argparse.ArgumentTypeError(f"window too small: {w}x{h} (at least 320x240)")
    if w > 16384 or h > 16384:
        raise argparse.ArgumentTypeError(f"window too large: {w}x{h} (at most 16384x16384)")
    return w, h


def brush_width(text: str) -> float:
    """argparse type for the player's --brush: pixels, from 1 to 100."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a brush width in pixels between 1 and 100, got {text!r}")
    return value
