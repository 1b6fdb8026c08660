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
