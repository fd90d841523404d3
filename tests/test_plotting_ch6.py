"""plot_confusion and iou_table: row-normalised pictures and honest tables."""
import matplotlib
import numpy as np
import pytest

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

import d2lfcn  # noqa: E402
from d2lfcn.plotting import iou_table, plot_confusion  # noqa: E402

CONFUSION = np.array([[90, 5, 0, 5],
                      [10, 30, 0, 0],
                      [0, 0, 0, 0],       # class 2 never occurs
                      [0, 0, 0, 0]])      # class 3 only predicted


@pytest.mark.parametrize('log', [True, False])
def test_plot_confusion_shows_row_shares(log):
    fig, ax = plt.subplots()
    plot_confusion(CONFUSION, ['a', 'b', 'c', 'd'], ax=ax, log=log)
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown[0].filled(np.nan),
                               [0.9, 0.05, np.nan if log else 0, 0.05])
    np.testing.assert_allclose(shown[1].filled(np.nan)[:2], [0.25, 0.75])
    assert shown.mask[2].all() and shown.mask[3].all()   # no true pixels
    assert [t.get_text() for t in ax.get_xticklabels()] == list('abcd')
    plt.close(fig)


def test_plot_confusion_uses_the_voc_names_and_checks_its_input():
    fig, ax = plt.subplots()
    plot_confusion(np.eye(21, dtype=int), ax=ax)
    assert ax.get_yticklabels()[15].get_text() == 'person'
    plt.close(fig)
    with pytest.raises(ValueError, match='square'):
        plot_confusion(np.zeros((2, 3)))
    with pytest.raises(ValueError, match='2 class names'):
        plot_confusion(np.zeros((3, 3)), ['a', 'b'])


def test_iou_table():
    table = iou_table(CONFUSION, ['a', 'b', 'c', 'd'])
    assert list(table.index) == list('abcd')
    assert table.loc['a', 'pixels'] == 100 and table.loc['a', 'predicted'] == 100
    assert table.loc['a', 'IoU'] == round(90 / (100 + 100 - 90), 3)
    assert table.loc['b', 'IoU'] == round(30 / (40 + 35 - 30), 3)
    assert table.loc['b', 'accuracy'] == 0.75
    assert table.loc['c', 'IoU'] == 'absent'
    assert table.loc['d', 'IoU'] == 0.0 and table.loc['d', 'accuracy'] == '-'


def test_exported():
    assert d2lfcn.plot_confusion is plot_confusion
    assert d2lfcn.iou_table is iou_table
