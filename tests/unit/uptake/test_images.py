"""The combined views and their noise model, on Poisson counts with known means."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from mibgscore.uptake.images import combine_views, kernel_power, soft_tissue_level


def _flat(level, shape=(200, 80), seed=0, margin=(20, 15)):
    rng = np.random.default_rng(seed)
    body = np.zeros(shape, bool)
    body[margin[0]:shape[0] - margin[0], margin[1]:shape[1] - margin[1]] = True
    mean = np.where(body, level, 0.05)
    return (rng.poisson(mean).astype(np.float32), rng.poisson(mean).astype(np.float32), body)


@pytest.mark.parametrize("level", [4.0, 30.0, 300.0])
def test_noise_gain_is_one_for_poisson_counts_and_reference_is_the_level(level):
    a, p, body = _flat(level)
    im = combine_views(a, p, body, (2.5, 2.5))
    assert 0.8 <= im.noise_gain <= 1.25, im.noise_gain
    assert abs(im.reference_counts / level - 1) < 0.08
    assert im.n_views == 2


def test_noise_gain_follows_scaled_counts():
    a, p, body = _flat(50.0)
    im = combine_views(a * 4, p * 4, body, (2.5, 2.5))  # counts scaled: variance 16x, mean 4x
    assert 3.2 <= im.noise_gain <= 4.8, im.noise_gain


def test_single_view_is_used_as_is():
    a, _, body = _flat(20.0)
    im = combine_views(a, None, body, (2.5, 2.5))
    assert im.n_views == 1
    assert abs(float(im.combined[body].mean()) - 20.0) < 1.0


def test_predicted_noise_of_smoothed_image_matches_measured():
    a, p, body = _flat(25.0, shape=(400, 160), seed=3, margin=(10, 10))
    im = combine_views(a, p, body, (2.5, 2.5))
    sigma = 2.0
    s = ndi.gaussian_filter(im.combined, sigma)
    inner = ndi.binary_erosion(body, iterations=12)
    predicted = np.sqrt(np.median(im.variance[inner]) * kernel_power(sigma))
    assert abs(s[inner].std() / predicted - 1) < 0.15


def test_soft_tissue_level_ignores_a_small_hot_spot():
    a, p, body = _flat(20.0, seed=5)
    rr, cc = np.mgrid[:200, :80]
    hot = ((rr - 100) ** 2 + (cc - 40) ** 2 <= 9) * 200.0
    im = combine_views(a + hot.astype(np.float32), p + hot.astype(np.float32), body, (2.5, 2.5))
    level = soft_tissue_level(im, np.zeros_like(body))
    assert abs(level[100, 40] / 20.0 - 1) < 0.1
    assert abs(np.median(level[body]) / 20.0 - 1) < 0.05
