"""Rows of the second bad-input sweep (issue 24): each test failed before
its fix."""
import numpy as np
import pytest

from d2lfcn import validate
from d2lfcn.voc import label_to_rgb


@pytest.mark.parametrize('bad', [256, -1, 1.7, np.nan])
def test_label_to_rgb_refuses_values_that_are_no_class(bad):
    """Row 13: 256, -1, 1.7 and NaN were coloured as background, ignore or
    class 1."""
    label = np.array([[0, 1], [255, bad]], dtype=np.float64)
    with pytest.raises(ValueError, match='class indices'):
        label_to_rgb(label)


def test_label_to_rgb_still_colours_classes_and_ignore():
    rgb = label_to_rgb(np.array([[0, 1], [20, 255]], np.uint8))
    assert rgb.shape == (2, 2, 3) and tuple(rgb[1, 1]) == (224, 224, 192)


def test_more_classes_than_the_ignore_value_allows_are_refused():
    """Row 12: with 256 or more classes, class 255 is also the ignore label
    and was dropped silently."""
    assert validate.num_classes(255) == 255
    with pytest.raises(ValueError, match='255'):
        validate.num_classes(256)


def test_checkpoints_past_epoch_9999_are_found(tmp_path):
    """Row 5: epoch-10000 and later were not listed, so --resume restarted
    from epoch 9999; they also sort by number, not as text."""
    from d2lfcn.checkpoints import CHECKPOINT_FILES, list_checkpoints
    for epoch in (9999, 10000, 10001):
        folder = tmp_path / f'epoch-{epoch:04d}'
        folder.mkdir()
        for name in CHECKPOINT_FILES:
            (folder / name).write_text('x')
    found = [p.name for p in list_checkpoints(tmp_path)]
    assert found == ['epoch-9999', 'epoch-10000', 'epoch-10001']
