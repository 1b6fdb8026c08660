"""The network's own pieces: batch-norm recalibration."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from training.model import recalibrate_batch_norm  # noqa: E402


def small_model() -> keras.Model:
    inputs = keras.Input((6, 6, 1))
    x = layers.Conv2D(3, 3, padding="same")(inputs)
    x = layers.BatchNormalization(name="bn_conv")(x)
    x = layers.Flatten()(layers.ReLU()(x))
    x = layers.Dense(4)(x)
    x = layers.BatchNormalization(name="bn_dense")(x)
    return keras.Model(inputs, layers.Dense(2)(x))


def test_batch_norm_statistics_become_those_of_the_given_images():
    keras.utils.set_random_seed(0)
    model = small_model()
    images = np.random.default_rng(0).uniform(0, 1, (1100, 6, 6, 1)).astype(np.float32) + 2.0
    recalibrate_batch_norm(model, images, batch_size=256)  # batches that do not divide the set
    for name in ("bn_conv", "bn_dense"):
        layer = model.get_layer(name)
        # the input each layer sees, with the layers before it already recalibrated
        a = keras.Model(model.inputs, layer.input).predict(images, verbose=0).astype(np.float64)
        a = a.reshape(-1, a.shape[-1])
        assert np.abs(a.mean(0)).max() > 0.1  # the initial moving mean (0) would fail the next line
        np.testing.assert_allclose(layer.moving_mean.numpy(), a.mean(0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), a.var(0), rtol=1e-3, atol=1e-5)
    # inference now normalises the images' features to mean 0, variance 1
    out = keras.Model(model.inputs, model.get_layer("bn_conv").output).predict(images, verbose=0)
    out = out.reshape(-1, 3)
    gamma = model.get_layer("bn_conv").gamma.numpy()
    np.testing.assert_allclose(out.mean(0), model.get_layer("bn_conv").beta.numpy(), atol=1e-3)
    np.testing.assert_allclose(out.std(0), np.abs(gamma), rtol=1e-2)
