"""FCN on ResNet-18: shapes for any input size, initialisation, weights."""
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, nd
from mxnet.gluon.model_zoo import vision

import d2lfcn
from d2lfcn.model import HEADS, VARIANTS, bilinear_upsampler, fcn_resnet18

SIZES = [(320, 480), (224, 224), (100, 77), (33, 31), (32, 32), (31, 65),
         (1, 1), (17, 250)]


@pytest.fixture(scope='module', params=VARIANTS)
def net(request):
    mx.random.seed(0)
    net = fcn_resnet18(21, pretrained=False, variant=request.param)
    net.hybridize()
    return net


@pytest.mark.parametrize('size', SIZES)
def test_output_has_the_input_size(net, size):
    out = net(nd.random.normal(shape=(2, 3) + size))
    assert out.shape == (2, 21) + size


def test_upsampling_layers_start_bilinear(net):
    ups = [layer for layer in net.head()
           if isinstance(layer, gluon.nn.Conv2DTranspose)]
    assert len(ups) == {'32s': 1, '16s': 2, '8s': 3}[net.variant]
    for layer in ups:
        w = layer.weight.data().asnumpy()
        k = w.shape[-1]
        if layer is net.up_final:       # fixed: one filter per class
            expected = np.broadcast_to(
                d2lfcn.bilinear_kernel(1, 1, k).asnumpy(), (21, 1, k, k))
        else:
            expected = d2lfcn.bilinear_kernel(21, 21, k).asnumpy()
        np.testing.assert_array_equal(w, expected)


def test_score_layer_is_xavier_and_skip_scores_are_zero(net):
    w = net.score32.weight.data().asnumpy()
    assert w.std() > 0 and not np.allclose(w, 0)
    assert np.all(net.score32.bias.data().asnumpy() == 0)
    skips = {'32s': (), '16s': ('score16',), '8s': ('score16', 'score8')}
    for name in ('score16', 'score8'):
        assert hasattr(net, name) == (name in skips[net.variant])
    for name in skips[net.variant]:
        assert not getattr(net, name).weight.data().asnumpy().any()


def test_parameter_count_of_fcn32s():
    net = fcn_resnet18(21, pretrained=False)
    count = sum(p.data().size for p in net.collect_params().values())
    backbone = vision.resnet18_v2(pretrained=False)
    backbone.initialize()
    backbone(nd.zeros((1, 3, 32, 32)))
    features = sum(p.data().size for name, p in
                   backbone.collect_params().items() if 'dense' not in name)
    assert count == features + 512 * 21 + 21 + 21 * 1 * 63 * 63
    learned = fcn_resnet18(21, pretrained=False, learn_final_upsampling=True)
    assert sum(p.data().size for p in learned.collect_params().values()) \
        == count + 21 * 20 * 63 * 63


def test_skip_branches_contribute_nothing_at_initialisation():
    """At init FCN-16s/8s give what the same upsampling chain gives without
    the skip scores (two chained bilinear upsamplings are not one)."""
    mx.random.seed(1)
    for variant in ('16s', '8s'):
        net = fcn_resnet18(5, pretrained=False, variant=variant)
        x = nd.random.normal(shape=(1, 3, 96, 130))
        out = net(x).asnumpy()
        f8, f16, f32 = net.features(x)
        s = net.score32(f32)
        s = nd.slice_like(net.up32to16(s), f16, axes=(2, 3))
        if variant == '8s':
            s = nd.slice_like(net.up16to8(s), f8, axes=(2, 3))
        chain = nd.slice_like(net.up_final(s), x, axes=(2, 3)).asnumpy()
        np.testing.assert_allclose(out, chain, rtol=1e-5, atol=1e-5)
        # and the skip layers are really wired in: non-zero skips change it
        getattr(net, 'score16').weight.set_data(
            nd.ones_like(net.score16.weight.data()) * 0.01)
        assert not np.allclose(net(x).asnumpy(), out, atol=1e-4)


def test_pretrained_offline_warns_once_and_uses_random_weights(tmp_path):
    with pytest.warns(UserWarning, match='No pretrained resnet18_v2 weights') \
            as record:
        net = fcn_resnet18(21, pretrained=True, root=tmp_path)
    assert len([w for w in record
                if 'No pretrained' in str(w.message)]) == 1
    assert 'copy resnet18_v2-' in str(record[0].message)
    assert net(nd.zeros((1, 3, 64, 64))).shape == (1, 21, 64, 64)


def test_pretrained_uses_a_cached_file(tmp_path, monkeypatch):
    from mxnet.gluon.model_zoo import model_store
    backbone = vision.resnet18_v2(pretrained=False)
    backbone.initialize(mx.init.Normal(0.5))
    backbone(nd.zeros((1, 3, 32, 32)))
    path = tmp_path / 'resnet18_v2.params'
    backbone.save_parameters(str(path))
    monkeypatch.setattr(model_store, 'get_model_file',
                        lambda name, root: str(path))
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        net = fcn_resnet18(21, pretrained=True, root=tmp_path)
    np.testing.assert_array_equal(
        net.to_stride8[1].weight.data().asnumpy(),
        backbone.features[1].weight.data().asnumpy())


def test_weights_file_is_loaded_and_bad_files_are_named(tmp_path):
    backbone = vision.resnet18_v2(pretrained=False)
    backbone.initialize(mx.init.Normal(0.5))
    backbone(nd.zeros((1, 3, 32, 32)))
    good = tmp_path / 'backbone.params'
    backbone.save_parameters(str(good))
    net = fcn_resnet18(21, weights=good)
    np.testing.assert_array_equal(
        net.to_stride32[0][0].conv1.weight.data().asnumpy(),
        backbone.features[8][0].conv1.weight.data().asnumpy())
    bad = tmp_path / 'corrupt.params'
    bad.write_bytes(b'not a params file')
    with pytest.raises(ValueError, match='cannot load backbone weights from '
                                         + str(bad)):
        fcn_resnet18(21, weights=bad)


def test_multi_device_initialisation():
    devices = [mx.cpu(0), mx.cpu(1)]
    net = fcn_resnet18(4, pretrained=False, variant="8s", devices=devices)
    for p in net.collect_params().values():
        assert p.list_ctx() == devices
    outs = [net(nd.ones((1, 3, 40, 40), ctx=d)) for d in devices]
    np.testing.assert_allclose(outs[0].asnumpy(), outs[1].asnumpy(),
                               rtol=1e-5)


@pytest.mark.parametrize('kwargs,words', [
    ({'num_classes': 1}, 'num_classes must be an integer >= 2'),
    ({'num_classes': 2.5}, 'num_classes must be an integer >= 2'),
    ({'variant': '4s'}, "variant must be one of ('32s', '16s', '8s')"),
    ({'head': 'caffe'}, "head must be one of ('aligned', 'd2l')"),
])
def test_bad_arguments(kwargs, words):
    args = dict(num_classes=21, pretrained=False)
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        fcn_resnet18(**args)
    assert words in str(info.value)


def test_bilinear_upsampler_scales():
    with pytest.raises(ValueError, match='even integer'):
        bilinear_upsampler(3, 3, aligned=False)
    for bad in (1, 2.0, True):
        with pytest.raises(ValueError, match='scale must be an integer'):
            bilinear_upsampler(3, bad)
    for scale in (2, 3, 8, 32):     # n cells -> exactly scale * n pixels
        layer = bilinear_upsampler(3, scale)
        layer.initialize()
        assert layer(nd.zeros((1, 3, 5, 7))).shape == (1, 3, 5 * scale,
                                                        7 * scale)


def gradient_centroid_offset(net, size=256):
    """Mean (dy, dx) from output pixel to the centroid of |d score / d input|,
    over four pixels placed symmetrically about the centre of a size x size
    input (the symmetry cancels the pull of the image border). 256 = 8 cells
    puts the centre on a cell boundary; measured at 448 the offsets differ by
    at most about one pixel (aligned about -2, d2l about -11), in 2.5 times
    the time."""
    mx.random.seed(3)
    x = nd.random.normal(shape=(1, 3, size, size))
    x.attach_grad()
    yy, xx = np.mgrid[:size, :size]
    c, offsets = size // 2, []
    for y, x_ in [(c - 9, c - 5), (c + 9, c + 5), (c - 5, c + 9),
                  (c + 5, c - 9)]:
        with mx.autograd.record():
            score = net(x)[0, :, y, x_].sum()
        score.backward()
        g = np.abs(x.grad.asnumpy()[0]).sum(axis=0)
        offsets.append(((g * yy).sum() / g.sum() - y,
                        (g * xx).sum() / g.sum() - x_))
    return np.mean(offsets, axis=0)


@pytest.mark.parametrize('variant', VARIANTS)
@pytest.mark.parametrize('head', HEADS)
def test_every_score_lands_where_its_cell_looks(variant, head):
    """The output at pixel (y, x) depends on input centred at (y, x) with
    the aligned head; the d2l head looks about half a cell up-left."""
    mx.random.seed(0)
    net = fcn_resnet18(21, pretrained=False, variant=variant, head=head)
    for name in ('score16', 'score8'):      # make the skips contribute
        if hasattr(net, name):
            w = getattr(net, name).weight
            w.set_data(nd.random.normal(0, 0.1, shape=w.shape))
    dy, dx = gradient_centroid_offset(net)
    if head == 'aligned':
        assert abs(dy) < 3 and abs(dx) < 3, (dy, dx)
    else:
        assert dy < -7 and dx < -7, (dy, dx)


@pytest.mark.parametrize('head', HEADS)
def test_fixed_head_is_an_aligned_bilinear_resize(head):
    """FCN-32s output = the stride-32 scores resized bilinearly with cell j
    at pixel 32j, between the first and last cell centres (the interior);
    the d2l head is that resize shifted by 15.5 pixels."""
    mx.random.seed(0)
    net = fcn_resnet18(4, pretrained=False, head=head)
    x = nd.random.normal(shape=(1, 3, 150, 230))
    scores = net.score32(net.features(x)[2])[0].asnumpy()
    out = net(x)[0].asnumpy()

    def resize(n_cells, n_pixels):      # (pixels, cells) interpolation
        pos = np.arange(n_pixels) / 32
        lo = np.minimum(np.floor(pos).astype(int), n_cells - 2)
        weights = np.zeros((n_pixels, n_cells))
        weights[np.arange(n_pixels), lo] = 1 - (pos - lo)
        weights[np.arange(n_pixels), lo + 1] = pos - lo
        return weights
    rows, cols = resize(scores.shape[1], 150), resize(scores.shape[2], 230)
    expected = np.einsum('yi,cij,xj->cyx', rows, scores, cols)
    interior = np.s_[:, :32 * (scores.shape[1] - 1) + 1,
                     :32 * (scores.shape[2] - 1) + 1]
    close = np.allclose(out[interior], expected[interior], atol=1e-4)
    assert close == (head == 'aligned')


@pytest.mark.parametrize('aligned, scale', [(True, 2), (True, 3),
                                            (True, 32), (False, 2),
                                            (False, 32)])
def test_a_fixed_upsampler_is_the_learnable_one_with_one_filter_per_class(
        aligned, scale):
    learnable = bilinear_upsampler(5, scale, aligned)
    fixed = bilinear_upsampler(5, scale, aligned, learnable=False)
    for layer in (learnable, fixed):
        layer.initialize()
    k = learnable.weight.shape[-1]
    assert learnable.weight.shape == (5, 5, k, k)
    assert learnable.weight.grad_req == 'write'
    assert fixed.weight.shape == (5, 1, k, k)
    assert fixed.weight.grad_req == 'null'
    x = nd.random.normal(shape=(2, 5, 4, 3))
    np.testing.assert_allclose(fixed(x).asnumpy(), learnable(x).asnumpy(),
                               rtol=1e-5, atol=1e-5)


def test_the_final_upsampler_is_fixed_unless_asked_and_does_not_train():
    from d2lfcn.training import SegmentationLoss
    for variant in VARIANTS:
        net = fcn_resnet18(3, pretrained=False, variant=variant)
        assert not net.learn_final_upsampling
        assert net.up_final.weight.shape[1] == 1
        assert net.up_final.weight.grad_req == 'null'
        for name in ('up32to16', 'up16to8'):      # the 2x layers learn
            if hasattr(net, name):
                assert getattr(net, name).weight.grad_req == 'write'
        learned = fcn_resnet18(3, pretrained=False, variant=variant,
                               learn_final_upsampling=True)
        assert learned.up_final.weight.shape[:2] == (3, 3)
        assert learned.up_final.weight.grad_req == 'write'
    before = net.up_final.weight.data().copy()
    trainer = gluon.Trainer(net.collect_params(), 'adam',
                            {'learning_rate': 0.1})
    x = nd.random.normal(shape=(2, 3, 64, 64))
    y = nd.ones((2, 64, 64))
    with mx.autograd.record():
        loss = SegmentationLoss()(net(x), y)
    loss.backward()
    trainer.step(2)
    assert np.array_equal(net.up_final.weight.data().asnumpy(),
                          before.asnumpy())
    assert not np.array_equal(net.score32.weight.data().asnumpy(), 0)


def _trained_a_little(variant, seed=0):
    """An FCN whose every parameter differs from a fresh one: random
    weights, a step of Adam, and BatchNorm statistics of a batch."""
    mx.random.seed(seed)
    net = fcn_resnet18(5, pretrained=False, variant=variant)
    for param in net.collect_params().values():
        if param.grad_req != 'null' and 'up' not in param.name:
            param.set_data(param.data() + 0.01 * nd.random.normal(
                shape=param.shape))
    trainer = gluon.Trainer(net.collect_params(), 'adam',
                            {'learning_rate': 0.01})
    x = nd.random.normal(shape=(2, 3, 70, 90))
    y = nd.array(np.random.default_rng(seed).integers(0, 5, (2, 70, 90)))
    with mx.autograd.record():
        loss = d2lfcn.SegmentationLoss()(net(x), y)
    loss.backward()
    trainer.step(2)
    return net


@pytest.mark.parametrize('coarse_variant, variant',
                         [('32s', '16s'), ('16s', '8s'), ('32s', '8s')])
def test_a_finer_net_starts_with_the_coarser_nets_predictions(coarse_variant,
                                                              variant):
    coarse = _trained_a_little(coarse_variant)
    finer = d2lfcn.finer_fcn(coarse, variant)
    assert finer.variant == variant and finer.num_classes == 5
    assert not finer.learn_final_upsampling
    for shape, band in (((96, 128), 0), ((83, 117), 16)):
        x = nd.random.normal(shape=(1, 3) + shape)
        before, after = coarse(x).asnumpy(), finer(x).asnumpy()
        assert before.shape == after.shape
        inside = (slice(None), slice(None), slice(0, shape[0] - band),
                  slice(0, shape[1] - band))
        # the same scores up to rounding (they are large: random weights)
        gap = np.abs(after[inside] - before[inside]).max()
        assert gap <= 1e-5 * np.abs(before).max(), (shape, gap)
    # the new skip scores start at zero; what was learned is taken over
    newest = getattr(finer, 'score' + variant[:-1])
    assert newest.weight.data().abs().sum().asscalar() == 0
    assert np.array_equal(finer.score32.weight.data().asnumpy(),
                          coarse.score32.weight.data().asnumpy())


def test_a_finer_net_is_a_copy_that_trains_on_its_own():
    coarse = _trained_a_little('32s')
    finer = d2lfcn.finer_fcn(coarse, '16s')
    kept = coarse.score32.weight.data().asnumpy()
    finer.score32.weight.set_data(finer.score32.weight.data() + 1)
    assert np.array_equal(coarse.score32.weight.data().asnumpy(), kept)


@pytest.mark.parametrize('variant', ['32s', '16s', 'x'])
def test_a_finer_net_must_be_finer(variant):
    coarse = fcn_resnet18(5, pretrained=False, variant='16s')
    with pytest.raises(ValueError, match="one of \\('8s',\\)"):
        d2lfcn.finer_fcn(coarse, variant)
    with pytest.raises(TypeError, match='must be an FCN'):
        d2lfcn.finer_fcn(vision.resnet18_v2(), '16s')


@pytest.mark.parametrize('learn', [False, True])
def test_a_net_like_another_is_a_copy_of_it(learn):
    source = _trained_a_little('16s')
    if learn:   # a learned final upsampler is copied too when it fits
        source = d2lfcn.fcn_like(source, learn_final_upsampling=True)
        source.up_final.weight.set_data(source.up_final.weight.data() * 1.5)
    copy = d2lfcn.fcn_like(source)
    assert (copy.variant, copy.head_design, copy.learn_final_upsampling) == \
        (source.variant, source.head_design, source.learn_final_upsampling)
    x = nd.random.normal(shape=(1, 3, 83, 117))
    assert np.array_equal(copy(x).asnumpy(), source(x).asnumpy())


def test_a_net_like_another_with_another_head_keeps_only_what_fits():
    source = _trained_a_little('32s')
    other = d2lfcn.fcn_like(source, head='d2l')
    assert other.head_design == 'd2l'
    assert np.array_equal(other.score32.weight.data().asnumpy(),
                          source.score32.weight.data().asnumpy())
    fresh = fcn_resnet18(5, pretrained=False, head='d2l')
    # the d2l head's upsampler has another kernel size: its own, bilinear
    assert other.up_final.weight.shape != source.up_final.weight.shape
    assert np.array_equal(other.up_final.weight.data().asnumpy(),
                          fresh.up_final.weight.data().asnumpy())
    with pytest.raises(TypeError, match='must be an FCN'):
        d2lfcn.fcn_like(vision.resnet18_v2())
