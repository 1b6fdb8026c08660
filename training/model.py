"""The networks and the training-time augmentation.

`build_model` is the shipped CNN: the classic tutorial's recipe (convolution, pooling,
dropout, Adam) made stronger the way the best single MNIST CNNs are: batch normalisation
after every convolution, two stacked 3x3 convolutions per stage, a learning-rate schedule
and augmentation. Sized for 2 CPU cores: the first layer is a 24-channel 5x5 convolution
at full resolution, everything wider runs after pooling.

Augmentation is a separate model applied in the tf.data pipeline, so it never ends up in
the saved model or the ONNX graph.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

NUM_CLASSES = 10
NOT_A_DIGIT = 10  # the training label of the examples that are no digit (training/nondigits.py)
FEATURES = 128  # width of the penultimate layer, the `features` output
OUTPUT_NAMES = ("probabilities", "not_digit", "features")
INPUT_SHAPE = (28, 28, 1)
BN_MOMENTUM = 0.9  # Keras' 0.99 lags behind on short runs (and --quick is one short epoch)


def _conv_bn(x, filters, kernel, name):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_model(dropout: float = 0.4) -> keras.Model:
    """The digits CNN as trained: 28x28x1 in [0, 1] -> {"probabilities": 10 softmax over the
    digits, "not_digit": a sigmoid, the probability that the image is not one digit}.

    Two heads on one trunk, not an 11-way softmax: the digit head is trained on digits only
    (its loss ignores label 10, see train.py), so "which digit" and "is it a digit" are separate
    questions and the first output keeps MNIST's meaning. One 3x3 convolution at full resolution
    (the previous model had two): the second one was a third of the compute, and on a 2-core
    AVX2 machine an epoch of 100k images must stay near 4 minutes to fit the 30-minute budget.
    """
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _conv_bn(inputs, 24, 5, "c1")  # 28x28
    x = layers.MaxPooling2D(name="pool1")(x)  # 14x14
    x = _conv_bn(x, 48, 3, "c2")
    x = _conv_bn(x, 48, 3, "c3")
    x = layers.MaxPooling2D(name="pool2")(x)  # 7x7
    x = _conv_bn(x, 64, 3, "c4")
    x = _conv_bn(x, 64, 3, "c5")
    x = layers.MaxPooling2D(name="pool3")(x)  # 3x3
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout / 2, name="drop1")(x)
    x = layers.Dense(FEATURES, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="fc_bn")(x)
    features = layers.ReLU(name="features")(x)
    x = layers.Dropout(dropout, name="drop2")(features)
    probabilities = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    not_digit = layers.Dense(1, activation="sigmoid", name="not_digit")(x)
    return keras.Model(inputs, {"probabilities": probabilities, "not_digit": not_digit}, name="digits_cnn")


def shipped_model(model: keras.Model) -> keras.Model:
    """The trained model as saved and exported: [probabilities, not_digit, features], in that
    order (the player reads the first; `features`, the penultimate layer, is what the player's
    learning from corrections compares drawings by). Shares the trained layers' weights."""
    outputs = [model.get_layer(name).output for name in OUTPUT_NAMES]
    return keras.Model(model.inputs[0], outputs, name="digits_cnn")


def build_tutorial_model() -> keras.Model:
    """The classic tutorial's CNN, unchanged: the baseline the benchmarks compare against."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="tutorial_cnn",
    )


def recalibrate_batch_norm(model: keras.Model, images: np.ndarray, batch_size: int = 500) -> None:
    """Set each BatchNormalization layer's moving mean and variance to the exact statistics of
    its input over `images` (clean, un-augmented), layer by layer from the input.

    During training the moving statistics follow augmented batches (thicker, rotated, zoomed
    ink) and the raw weights of the last few steps; the shipped model sees clean drawings and
    carries averaged weights. Measured on five trained models: +0.06 points of MNIST test
    accuracy on average, and the averaged (EMA) weights need it most (+0.09).
    """
    for layer in model.layers:
        if not isinstance(layer, layers.BatchNormalization):
            continue
        upstream = keras.Model(model.inputs[0], layer.input)  # one input, called with one array
        total = total_sq = 0.0
        for start in range(0, len(images), batch_size):
            a = np.asarray(upstream(images[start : start + batch_size], training=False), np.float64)
            a = a.reshape(-1, a.shape[-1])
            total, total_sq = total + a.sum(0), total_sq + (a * a).sum(0)
        count = len(images) * int(np.prod(upstream.output.shape[1:-1]))
        mean = total / count
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(np.maximum(total_sq / count - mean * mean, 0).astype(np.float32))


class RandomThickness(layers.Layer):
    """Makes strokes thinner or thicker by blending towards a 3x3 erosion or dilation.

    Mouse ink and pens differ most from MNIST scans in stroke width; a continuous blend
    (not a whole pixel of dilation) keeps the change in the range real strokes vary in.
    """

    def __init__(self, strength: float = 0.6, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.strength = strength
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        n = tf.shape(images)[0]
        amount = keras.random.uniform((n, 1, 1, 1), -self.strength, self.strength, seed=self.seed_generator)
        dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
        target = tf.where(amount > 0, dilated, eroded)
        return images + tf.abs(amount) * (target - images)

    def get_config(self):
        return {**super().get_config(), "strength": self.strength}


def build_augmenter(seed: int) -> keras.Sequential:
    """Small rotations, shifts, zoom and stroke-thickness changes, for training batches only."""
    return keras.Sequential(
        [
            layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed),
            layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed + 1),
            layers.RandomZoom((-0.1, 0.1), fill_mode="constant", seed=seed + 2),
            RandomThickness(0.5, seed=seed + 3),
        ],
        name="augmenter",
    )
