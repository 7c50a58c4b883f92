"""Colours of hand-made maps: the palette, labels, depth, normals and probabilities."""

import cv2
import numpy as np

from mmkem.visualization import colorize as Cz

PALETTE = [(10, 20, 30), (200, 0, 0), (0, 200, 0)]


def test_default_palette_is_the_voc_colour_map():
    pal = Cz.default_palette(4)
    np.testing.assert_array_equal(pal, [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]])


def test_label_colours_are_the_palettes_and_ignore_is_black():
    labels = np.array([[0, 1, 2], [2, 255, 0]])
    rgb = Cz.colorize_labels(labels, PALETTE)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0], PALETTE[0])
    np.testing.assert_array_equal(rgb[0, 1], PALETTE[1])
    np.testing.assert_array_equal(rgb[0, 2], PALETTE[2])
    np.testing.assert_array_equal(rgb[1, 0], PALETTE[2])
    np.testing.assert_array_equal(rgb[1, 1], [0, 0, 0])


def test_depth_invalid_is_black_and_range_ends_are_the_colour_map_ends():
    depth = np.array([[[1.0, 3.0, 0.0]]])
    rgb = Cz.colorize_depth(depth, 1.0, 3.0, invalid=depth[0] <= 0)
    lut = cv2.applyColorMap(np.array([[0, 255]], dtype=np.uint8), cv2.COLORMAP_VIRIDIS)
    lut = cv2.cvtColor(lut, cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(rgb[0, 0], lut[0, 0])
    np.testing.assert_array_equal(rgb[0, 1], lut[0, 1])
    np.testing.assert_array_equal(rgb[0, 2], [0, 0, 0])


def test_normals_as_half_offset_rgb_and_invalid_black():
    normals = np.zeros((3, 1, 3))
    normals[:, 0, 0] = (0, 0, 1)
    normals[:, 0, 1] = (-1, 1, 0)
    rgb = Cz.colorize_normals(normals)
    np.testing.assert_array_equal(rgb[0, 0], [128, 128, 255])
    np.testing.assert_array_equal(rgb[0, 1], [0, 255, 128])
    np.testing.assert_array_equal(rgb[0, 2], [0, 0, 0])


def test_probability_grey_levels_and_ignored_grey():
    rgb = Cz.colorize_probability(np.array([[0.0, 1.0, 255]]))
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 0])
    np.testing.assert_array_equal(rgb[0, 1], [255, 255, 255])
    np.testing.assert_array_equal(rgb[0, 2], Cz.IGNORE_GREY)


def test_dataset_palettes_are_voc_colours_from_a_first_id():
    np.testing.assert_array_equal(Cz.voc_palette(3), Cz.default_palette(4)[1:])
    np.testing.assert_array_equal(Cz.voc_palette(3, first_id=0), Cz.default_palette(3))
