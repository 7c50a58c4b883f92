"""Pictures of predictions: colour map, overlay and legend of labels, depth and probability
colour bars, normals as RGB, and the panel of all tasks."""

import numpy as np

import mmkem  # noqa: F401
from mmkem.visualization.colorize import colorize_labels, colorize_normals, default_palette
from mmkem.visualization.task_pictures import (
    color_bar,
    legend,
    prediction_panel,
    render_prediction,
)


def _labels():
    labels = np.zeros((1, 60, 80), np.int64)
    labels[:, :, 20:] = 5  # class 5 covers most of the map, then 0, then 2
    labels[:, :10, :5] = 2
    return labels


def test_label_picture_is_map_overlay_and_legend():
    labels = _labels()
    image = np.full((60, 80, 3), 200, np.uint8)
    palette = default_palette(40)
    picture = render_prediction('semseg', labels, image, palette, [f'c{i}' for i in range(40)])
    assert picture.shape[0] == 60 and picture.shape[1] > 2 * 80
    np.testing.assert_array_equal(picture[:, :80], colorize_labels(labels, palette))
    overlay = picture[:, 80:160][labels[0] == 5].astype(int)
    assert np.abs(overlay - (200 + palette[5].astype(int)) / 2).max() <= 1  # half image, half map
    without_image = render_prediction('semseg', labels, None, palette)
    assert without_image.shape[1] == picture.shape[1] - 80


def test_legend_lists_the_present_classes_largest_first():
    palette = default_palette(40)
    strip = legend(_labels(), palette, None, height=120)
    swatches = [tuple(strip[row, 6]) for row in range(120) if tuple(strip[row, 6]) != (32,) * 3]
    seen = list(dict.fromkeys(swatches))
    assert seen[:3] == [tuple(palette[5]), tuple(palette[0]), tuple(palette[2])]
    assert tuple(palette[1]) not in seen  # absent classes are left out


def test_depth_and_probability_pictures_have_colour_bars():
    depth = np.linspace(0.5, 4.0, 60 * 80, dtype=np.float32).reshape(1, 60, 80)
    picture = render_prediction('depth', depth)
    bar = color_bar(60, 0.5, 4.0, 'm')
    assert picture.shape == (60, 80 + bar.shape[1], 3)
    assert not np.array_equal(picture[:, 0], picture[:, 79])  # near and far differ
    prob = np.linspace(0, 1, 60 * 80, dtype=np.float32).reshape(1, 60, 80)
    for task in ('edge', 'sal'):
        heat = render_prediction(task, prob)
        assert heat.shape[0] == 60 and heat.shape[1] > 80
        assert heat[0, 0].sum() < heat[-1, 79].sum()  # 0 is dark, 1 is bright


def test_normals_picture_and_panel():
    normals = np.zeros((3, 60, 80), np.float32)
    normals[2] = 1
    picture = render_prediction('normals', normals)
    np.testing.assert_array_equal(picture, colorize_normals(normals))
    image = np.zeros((60, 80, 3), np.uint8)
    panel = prediction_panel(image, dict(normals=picture, depth=np.zeros((30, 50, 3), np.uint8)))
    assert panel.shape == (2 * (60 + 24), 80 + 100, 3)  # the depth picture scaled to 60 high
