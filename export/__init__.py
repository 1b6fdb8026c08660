"""digits export: the trained Keras model -> the ONNX file the player runs (needs the `train` extra)."""

from player import __version__

__all__ = ["__version__"]
