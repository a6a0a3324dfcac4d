"""The working grid: binning, and points and maps carried back to the scan's own frame."""

import numpy as np
import pytest

from mibgscore.anatomy.grid import WorkGrid, geometric_mean


@pytest.mark.parametrize("factor", [1, 2])
@pytest.mark.parametrize("flipped", [False, True])
def test_points_and_maps_round_trip(factor, flipped):
    shape = (101, 37)  # odd sides: the last partial block is left out of the working grid
    grid = WorkGrid(factor, shape, flipped, (1.2, 1.2))
    rows, cols = grid.working_shape
    assert (rows, cols) == (shape[0] // factor, shape[1] // factor)
    # a map marking one working pixel comes back as that pixel's block in the scan's frame
    rng = np.random.default_rng(factor + 2 * flipped)
    for _ in range(20):
        r, c = int(rng.integers(rows - 1)), int(rng.integers(cols - 1))  # not the edge blocks
        small = np.zeros((rows, cols), bool)
        small[r, c] = True
        big = grid.to_original_map(small)
        assert big.shape == shape and big.sum() == factor * factor
        (pr, pc), = grid.to_original([(r, c)])
        # the point lies in the block the map marks
        assert big[pr, pc]
        block_rows = np.nonzero(big.any(axis=1))[0]
        expected_top = r * factor if not flipped else shape[0] - (r + 1) * factor
        assert block_rows.min() == expected_top
        # and back: canonical -> working recovers the pixel
        cr = pr if not flipped else shape[0] - 1 - pr
        wr, wc = grid.to_working(cr, pc)
        assert (int(wr), int(wc)) == (r, c)


def test_edge_blocks_reach_the_leftover_pixels():
    grid = WorkGrid(2, (5, 4), True, (1.0, 1.0))
    small = np.zeros(grid.working_shape, bool)
    small[-1, 0] = True  # last working row: canonical rows 2-3, and leftover row 4
    big = grid.to_original_map(small)
    assert np.nonzero(big.any(axis=1))[0].tolist() == [0, 1, 2]  # flipped: top of the scan


def test_binning_sums_counts_and_shrink_takes_the_block_centre():
    grid = WorkGrid(2, (4, 6), False, (1.0, 1.0))
    counts = np.arange(24, dtype=np.float32).reshape(4, 6)
    binned = grid.bin(counts)
    assert binned.shape == (2, 3) and binned.dtype == np.float32
    assert binned[0, 0] == 0 + 1 + 6 + 7
    assert binned.sum() == counts.sum()
    labels = np.arange(24).reshape(4, 6)
    assert grid.shrink(labels)[1, 2] == labels[3, 5]
    mask = np.zeros((4, 6), bool)
    mask[0, :2] = True  # half of block (0, 0)
    mask[2, 2] = True  # a quarter of block (1, 1)
    assert grid.bin_mask(mask).tolist() == [[True, False, False], [False, False, False]]


def test_the_grid_follows_the_pixel_size():
    assert WorkGrid.for_scan((1024, 256), (2.4, 2.4), False).factor == 1
    fine = WorkGrid.for_scan((2048, 512), (1.2, 1.2), True)
    assert fine.factor == 2 and fine.working_spacing_mm == (2.4, 2.4) and fine.flipped_rows
    with pytest.raises(ValueError):
        WorkGrid(0, (10, 10), False, (1.0, 1.0))


def test_geometric_mean_ignores_negative_counts():
    a = np.array([[4.0, -1.0]], np.float32)
    p = np.array([[9.0, 5.0]], np.float32)
    np.testing.assert_allclose(geometric_mean(a, p), [[6.0, 0.0]])
