"""digits training: the Keras CNN, trained on MNIST and on pen ink (needs the `train` extra)."""

from player import __version__

__all__ = ["__version__"]
