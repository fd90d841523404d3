"""Chapter 4 (and 7): Fully Convolutional Networks on a Gluon ResNet-18 v2.

FCN-32s scores the stride-32 features of the backbone with a 1x1
convolution and upsamples the scores 32x with a transposed convolution that
starts as a bilinear resize. FCN-16s and FCN-8s (chapter 7) add scores of the
stride-16 and stride-8 features on the way up (Long et al., CVPR 2015).
Inputs are (N, 3, H, W) float32 images normalised with the ImageNet mean and
standard deviation; outputs are (N, num_classes, H, W) class scores, for any
H and W (see ``FCN.hybrid_forward`` for sizes that are not multiples of 32).
"""
# Taught in notebooks/04_fcn_model.ipynb (bilinear_upsampler): edit there, then
# run python tools/sync_code.py. Not written out in a notebook: VARIANTS,
# HEADS, PRETRAINED_NAME, BilinearUpsampling, FCN, fcn_resnet18, fcn_like,
# finer_fcn, pretrained_backbone_file.
import contextlib
import io
import os
import warnings
from pathlib import Path

import mxnet as mx
from mxnet import init, nd
from mxnet.gluon import nn
from mxnet.gluon.model_zoo import model_store, vision

from d2lfcn import validate
from d2lfcn.devices import checked_devices
from d2lfcn.upsampling import bilinear_kernel

VARIANTS = ('32s', '16s', '8s')
"""The FCN variants: the stride of the coarsest prediction they upsample."""
HEADS = ('aligned', 'd2l')
"""Upsampling heads: 'aligned' puts every score on the centre of the cell it
came from; 'd2l' (kernel 2s, padding s/2) puts it half a cell down-right."""
PRETRAINED_NAME = 'resnet18_v2'
"""The Gluon model-zoo network used as the backbone."""


@init.register
class BilinearUpsampling(init.Initializer):
    """Initialises a Conv2DTranspose weight (C, C, k, k) with bilinear_kernel.

    Unlike mxnet.init.Bilinear, which fills every (input, output) channel
    pair and so mixes the class scores, this keeps channel c in channel c.
    A weight (C, 1, k, k) is taken to be that of a layer with C groups (one
    filter per channel, as bilinear_upsampler(..., learnable=False) builds):
    every one of its C filters gets the tent.
    """

    def _init_weight(self, name, arr):
        c_in, c_out, k_h, k_w = arr.shape
        if k_h != k_w:
            raise ValueError(f'{name}: a bilinear kernel is square, got '
                             f'{k_h}x{k_w}')
        if c_out == 1:
            arr[:] = bilinear_kernel(1, 1, k_h).broadcast_to(arr.shape)
        else:
            arr[:] = bilinear_kernel(c_in, c_out, k_h)


def bilinear_upsampler(channels, scale, aligned=True, learnable=True):
    """A Conv2DTranspose that upsamples `channels` maps by the integer
    `scale`, initialised as a bilinear resize.
    (N, C, h, w) -> (N, C, h*s, w*s).

    learnable=True: a full layer, weight (C, C, k, k), whose training may
    change the tent and mix the channels. learnable=False: the resize stays
    bilinear, so the layer has one filter per channel (C groups, weight
    (C, 1, k, k): C times fewer multiplications) and no weight gradient.

    aligned=True: kernel 2s - 1, stride s, padding s - 1, output padding
    s - 1. The tent of input cell j peaks on output pixel s*j, where
    ResNet's stride-s cell j is centred, and h cells give exactly s*h rows.
    aligned=False: the d2l design, kernel 2s, stride s, padding s/2 (s even):
    the tent of cell j is centred on pixel s*j + (s - 1)/2, half a cell
    down and right of where the cell looks.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2 \
            or (not aligned and scale % 2):
        kind = 'an integer' if aligned else 'an even integer'
        raise ValueError(f'scale must be {kind} >= 2, got {scale!r}')
    if aligned:
        kernel, padding, extra = 2 * scale - 1, scale - 1, scale - 1
    else:
        kernel, padding, extra = 2 * scale, scale // 2, 0
    layer = nn.Conv2DTranspose(channels, kernel_size=kernel, strides=scale,
                               padding=padding, output_padding=extra,
                               groups=1 if learnable else channels,
                               in_channels=channels, use_bias=False,
                               weight_initializer=BilinearUpsampling())
    if not learnable:
        layer.weight.grad_req = 'null'    # fixed: no weight gradient
    return layer


class FCN(nn.HybridBlock):
    """FCN-32s, -16s or -8s on the feature stages of a ResNet-18 v2.

    features: the backbone's ``features`` block (its global pooling and
    flattening are not used); num_classes: classes scored per pixel;
    variant: '32s', '16s' or '8s'; head: 'aligned' or 'd2l', the design of
    every upsampling layer (see bilinear_upsampler).
    learn_final_upsampling: False (as the paper): the last upsampler, by 32,
    16 or 8, stays a fixed bilinear resize (one filter per class, no
    gradient); True: it is a full learnable 21-to-21 layer. The 2x
    upsamplers of FCN-16s and -8s are always learnable.
    """

    def __init__(self, features, num_classes=21, variant='32s',
                 head='aligned', learn_final_upsampling=False, **kwargs):
        super().__init__(**kwargs)
        if variant not in VARIANTS:
            raise ValueError(f'variant must be one of {VARIANTS}, got '
                             f'{variant!r}')
        if head not in HEADS:
            raise ValueError(f'head must be one of {HEADS}, got {head!r}')
        self.variant = variant
        self.head_design = head
        self.learn_final_upsampling = bool(learn_final_upsampling)
        aligned = head == 'aligned'
        self.num_classes = num_classes
        with self.name_scope():
            # ResNet-18 v2 features: stem and stages 1-2 end at stride 8
            # (128 channels), stage 3 at 16 (256), stage 4 + BN/ReLU at 32 (512)
            self.to_stride8 = nn.HybridSequential()
            self.to_stride8.add(*features[:7])
            self.to_stride16 = features[7]
            self.to_stride32 = nn.HybridSequential()
            self.to_stride32.add(*features[8:11])
            self.score32 = nn.Conv2D(num_classes, kernel_size=1,
                                     in_channels=512)
            # skip scores start at zero: training begins from FCN-32s
            if variant != '32s':
                self.score16 = nn.Conv2D(num_classes, kernel_size=1,
                                         in_channels=256,
                                         weight_initializer=init.Zero())
                self.up32to16 = bilinear_upsampler(num_classes, 2, aligned)
            if variant == '8s':
                self.score8 = nn.Conv2D(num_classes, kernel_size=1,
                                        in_channels=128,
                                        weight_initializer=init.Zero())
                self.up16to8 = bilinear_upsampler(num_classes, 2, aligned)
            self.up_final = bilinear_upsampler(
                num_classes, int(variant[:-1]), aligned,
                learnable=self.learn_final_upsampling)

    def head(self):
        """The layers FCN adds on top of the backbone, in forward order."""
        names = ('score32', 'up32to16', 'score16', 'up16to8', 'score8',
                 'up_final')
        return [getattr(self, n) for n in names if hasattr(self, n)]

    def features(self, x):
        """The backbone's features of x (N, 3, H, W) at strides 8, 16 and 32:
        (N, 128, ceil(H/8), .), (N, 256, ceil(H/16), .), (N, 512,
        ceil(H/32), .), the last after ResNet v2's final BatchNorm and ReLU;
        score8, score16 and score32 score them."""
        f8 = self.to_stride8(x)
        f16 = self.to_stride16(f8)
        return f8, f16, self.to_stride32(f16)

    def hybrid_forward(self, F, x):
        """x: (N, 3, H, W) -> scores (N, num_classes, H, W).

        Every stride-2 layer of ResNet rounds up, so the stride-32 map has
        ceil(H / 32) rows and upsampling it gives 32 * ceil(H / 32) >= H rows;
        row 0 of every map belongs to the top of the image, so the extra
        bottom rows and right columns (which look at the zero padding past
        the image) are cropped away, and any H, W >= 1 work.
        """
        f8 = self.to_stride8(x)
        f16 = self.to_stride16(f8)
        scores = self.score32(self.to_stride32(f16))
        if self.variant != '32s':
            scores = F.slice_like(self.up32to16(scores), f16, axes=(2, 3))
            scores = scores + self.score16(f16)
        if self.variant == '8s':
            scores = F.slice_like(self.up16to8(scores), f8, axes=(2, 3))
            scores = scores + self.score8(f8)
        return F.slice_like(self.up_final(scores), x, axes=(2, 3))


def fcn_resnet18(num_classes=21, pretrained=True, variant='32s', weights=None,
                 devices=None, root=None, head='aligned',
                 learn_final_upsampling=False):
    """Build an FCN on ResNet-18 v2 and initialise all of its parameters.

    num_classes: classes per pixel (21 for Pascal VOC: background + 20).
    pretrained: start the backbone from the Gluon model zoo's ImageNet
    weights (cached in `root`, default ~/.mxnet/models). If they cannot be
    found or downloaded, warn once and start from random weights.
    weights: path of a backbone .params file to use instead of the zoo.
    devices: a context or list of contexts (default: the CPU).
    head: 'aligned' (default) or 'd2l', the upsampling design (see FCN).
    learn_final_upsampling: False (default, as the paper) keeps the last
    upsampler a fixed bilinear resize; True makes it learnable (see FCN).
    The head (1x1 score layers: Xavier, skip scores: zeros; transposed
    convolutions: bilinear) is always freshly initialised.
    """
    num_classes = validate.num_classes(num_classes)
    devices = checked_devices(devices or mx.cpu())
    backbone = vision.resnet18_v2(pretrained=False)
    source = weights or (pretrained and pretrained_backbone_file(root))
    if source:
        try:
            backbone.load_parameters(str(source), ctx=devices)
        except Exception as e:
            raise ValueError(f'cannot load backbone weights from {source}: '
                             f'{validate.error_line(e)}. Pass a ResNet-18 v2 .params file from '
                             f'the Gluon model zoo, or pretrained=False '
                             f'(--no-pretrained on the command line)') \
                from None
    else:
        backbone.initialize(init.Xavier(), ctx=devices)
    net = FCN(backbone.features, num_classes, variant, head,
              learn_final_upsampling)
    for block in net.head():
        # each layer's own initialiser (bilinear, zeros, zero bias) wins
        # over this default, which only the 1x1 score32 weight uses
        block.initialize(init.Xavier(), ctx=devices)
    # layers whose input sizes Gluon infers get their weights on a first
    # forward pass: make one now, so every parameter exists from here on
    net(nd.zeros((1, 3, 32, 32), ctx=devices[0]))
    return net


def fcn_like(source, variant=None, head=None, learn_final_upsampling=None,
             devices=None):
    """A new FCN that takes over every parameter it shares with `source`.

    source: an FCN (fcn_resnet18). variant, head and learn_final_upsampling
    default to source's; devices to source's devices. A parameter is shared
    when both nets have it under the same structural name ('score32.weight',
    as save_parameters writes it) with the same shape: the backbone, its
    BatchNorm statistics and score32 always, the skip layers the two have in
    common, and an upsampler only where its factor and design are the same.
    The others start as fcn_resnet18 starts them (skip scores at zero,
    upsamplers bilinear). With no changes this is a copy of source.
    """
    if not isinstance(source, FCN):
        raise TypeError(f'source must be an FCN (fcn_resnet18), got '
                        f'{type(source).__name__}')
    # structural names, the same in both nets, unlike the instance-numbered
    # Parameter names ('fcn3_conv0_weight')
    old = source._collect_params_with_prefix()
    devices = checked_devices(devices or old['score32.weight'].list_ctx())
    net = fcn_resnet18(
        source.num_classes, pretrained=False,
        variant=source.variant if variant is None else variant,
        devices=devices, head=source.head_design if head is None else head,
        learn_final_upsampling=(source.learn_final_upsampling
                                if learn_final_upsampling is None
                                else learn_final_upsampling))
    for name, param in net._collect_params_with_prefix().items():
        if name in old and old[name].shape == param.shape:
            param.set_data(old[name].data(old[name].list_ctx()[0]))
    return net


def finer_fcn(coarse, variant, devices=None):
    """A finer FCN that starts from a trained coarser one, as the paper
    trained FCN-16s from FCN-32s and FCN-8s from FCN-16s: fcn_like(coarse,
    variant), with variant ('16s' or '8s') finer than coarse's. Its new skip
    scores start at zero and its new upsamplers bilinear; with the aligned
    head a chain of bilinear upsamplings is one bilinear upsampling, so at
    step 0 it predicts what coarse predicts (the same scores, up to
    rounding): everywhere on images whose sides are multiples of 32, else
    everywhere but a band of up to 14 pixels along the bottom and right
    edges, where a 2x-upsampled map was cut to the size of the finer map
    (measured on sizes 65-191 x 70-257).
    """
    if not isinstance(coarse, FCN):
        raise TypeError(f'coarse must be an FCN (fcn_resnet18), got '
                        f'{type(coarse).__name__}')
    if variant not in VARIANTS or \
            VARIANTS.index(variant) <= VARIANTS.index(coarse.variant):
        finer = VARIANTS[VARIANTS.index(coarse.variant) + 1:]
        raise ValueError(f'variant must be finer than the FCN-{coarse.variant} '
                         f'it starts from: one of {finer or "none"}, got '
                         f'{variant!r}')
    return fcn_like(coarse, variant, devices=devices)


def pretrained_backbone_file(root=None):
    """Path of the cached ImageNet weights of ResNet-18 v2, or None.

    Looks in `root` (default: $MXNET_HOME/models, usually ~/.mxnet/models),
    downloads the file there if it is missing and the network allows, checks
    its SHA-1, and on failure warns with what to do and returns None.
    """
    root = Path(root or os.path.join(mx.base.data_dir(), 'models'))
    try:
        # MXNet prints every download attempt; keep a failure to one warning
        with contextlib.redirect_stdout(io.StringIO()):
            return model_store.get_model_file(PRETRAINED_NAME, root=str(root))
    except Exception as e:
        name = f'{PRETRAINED_NAME}-{model_store.short_hash(PRETRAINED_NAME)}'
        warnings.warn(
            f'No pretrained {PRETRAINED_NAME} weights: {name}.params is not in '
            f'{root} and could not be downloaded ({type(e).__name__}). The '
            f'backbone starts from random weights, so it learns much more '
            f'slowly. To use the ImageNet weights offline, copy {name}.params '
            f'into {root} (or pass weights=PATH).', stacklevel=3)
        return None
