"""The baselines that see less than FCN: the patch net's window, shapes and
training by the course's loop."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, nd

from helpers import toy_segmentation
from d2lfcn.baselines import patch_net, train_patch_net
from d2lfcn.training import SegmentationLoss, poly_trainer, train


@pytest.mark.parametrize('window', [4, 12, 20, 36])
def test_patch_net_gives_the_input_size(window):
    net = patch_net(window, 5)
    net.hybridize()
    for size in [(4, 4), (5, 7), (33, 37), (128, 160), (190, 250)]:
        assert net(nd.zeros((2, 3) + size)).shape == (2, 5) + size


@pytest.mark.parametrize('bad', [0, 3, 16, 21, 2.5, True])
def test_patch_net_names_the_windows_it_has(bad):
    with pytest.raises((ValueError, TypeError), match='window'):
        patch_net(bad)


@pytest.mark.parametrize('window', [4, 12, 20, 36])
def test_a_cell_sees_exactly_its_window_centred_on_its_block(window):
    """Changing one row (column) of the image changes stride-4 cell (j, j)
    exactly for the rows of its window, centred on 4j + 1.5."""
    mx.random.seed(0)
    net = patch_net(window, 3)
    def coarse(x):
        return net.score(net.features(x))[0, :, 7, 7].asnumpy()
    x = nd.random.normal(shape=(1, 3, 64, 64))
    before = coarse(x)
    for axis in (2, 3):
        seen = []
        for i in range(64):
            changed = x.copy()
            index = (slice(None), slice(None), i) if axis == 2 else \
                (slice(None), slice(None), slice(None), i)
            changed[index] = 5
            if not np.allclose(coarse(changed), before):
                seen.append(i)
        assert len(seen) == window
        assert seen == list(range(seen[0], seen[0] + window))
        assert (seen[0] + seen[-1]) / 2 == 4 * 7 + 1.5


def test_patch_net_learns_with_the_course_loop():
    mx.random.seed(0)
    np.random.seed(0)
    net = patch_net(20, 3)
    data = gluon.data.DataLoader(toy_segmentation(16), 4, shuffle=True)
    trainer = poly_trainer(net.collect_params(), 0.01, 4 * len(data))
    history = train(net, data, toy_segmentation(4, 50, 70, seed=1),
                    SegmentationLoss(), trainer, 4, [mx.cpu()], plot=False)
    assert history[-1]['train_loss'] < 0.6 * history[0]['train_loss']
    assert history[-1]['val_mean_iou'] > 0.5


def test_a_trained_patch_net_is_reused_from_its_folder(tmp_path):
    data = gluon.data.DataLoader(toy_segmentation(8, 40, 48), 4)
    val = toy_segmentation(2, 40, 48, seed=1)
    net, history = train_patch_net(12, data, val, [mx.cpu()], 2,
                                   checkpoint_dir=tmp_path / 'patch')
    assert [h['epoch'] for h in history] == [1, 2]
    again, reused = train_patch_net(12, data, val, [mx.cpu()], 2,
                                    checkpoint_dir=tmp_path / 'patch')
    assert reused == history      # read back, not trained again
    x = nd.random.normal(shape=(1, 3, 40, 48))
    assert np.array_equal(again(x).asnumpy(), net(x).asnumpy())
