"""digits player: draw a digit, get an answer, no TensorFlow at runtime."""

__version__ = "0.1.0"
