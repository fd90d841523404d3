"""The chapter 4 and 4b checkers accept right answers, reject typical wrong ones
with a message that says what is wrong, and treat the student stub as
'not solved yet'."""

import pytest

import d2lfcn

from helpers import solution


def stub(*args):
    raise NotImplementedError


# ---- reference solutions: the notebooks' solution cells ------------------

receptive_field = solution('04b', 'receptive_field')


head_for = solution('04b', 'head_for')


tent_centre = solution('04b', 'tent_centre')


fcn_sizes = solution('04', 'fcn_sizes')


head_parameters = solution('04', 'head_parameters')


# ---- typical wrong answers ------------------------------------------------

def sizes_rounded_down(height, width):
    rows, cols = height // 32, width // 32
    return (rows, cols), (32 * rows, 32 * cols)


def sizes_cropped(height, width):
    return fcn_sizes(height, width)[0], (height, width)


def parameters_without_bias(num_classes, scale, learnable):
    score, up = head_parameters(num_classes, scale, learnable)
    return score - num_classes, up


def parameters_d2l_kernel(num_classes, scale, learnable):
    pairs = num_classes * num_classes if learnable else num_classes
    return 512 * num_classes + num_classes, pairs * (2 * scale) ** 2


def parameters_learnable_as_fixed(num_classes, scale, learnable):
    return head_parameters(num_classes, scale, False)


def parameters_fixed_as_learnable(num_classes, scale, learnable):
    return head_parameters(num_classes, scale, True)


def receptive_field_kernel_in_pixels(layers):
    field, jump, centre = 1, 1, 0.0
    for kernel, stride, padding in layers:
        field += kernel - 1
        centre += (kernel - 1) / 2 - padding
        jump *= stride
    return field, jump, centre


def receptive_field_field_in_pixels(layers):
    field, jump, centre = 1, 1, 0.0
    for kernel, stride, padding in layers:
        field += kernel - 1                      # only the field slips
        centre += ((kernel - 1) / 2 - padding) * jump
        jump *= stride
    return field, jump, centre


def receptive_field_new_jump(layers):
    field, jump, centre = 1, 1, 0.0
    for kernel, stride, padding in layers:
        jump *= stride
        field += (kernel - 1) * jump
        centre += ((kernel - 1) / 2 - padding) * jump
    return field, jump, centre


def receptive_field_padding_sign(layers):
    field, jump, centre = 1, 1, 0.0
    for kernel, stride, padding in layers:
        field += (kernel - 1) * jump
        centre += ((kernel - 1) / 2 + padding) * jump
        jump *= stride
    return field, jump, centre


def receptive_field_padding_ignored(layers):
    field, jump, centre = 1, 1, 0.0
    for kernel, stride, padding in layers:
        field += (kernel - 1) * jump
        centre += (kernel - 1) / 2 * jump
        jump *= stride
    return field, jump, centre


def receptive_field_rounded(layers):
    field, jump, centre = receptive_field(layers)
    return field, jump, int(centre)


def head_always_d2l(scale, centre):
    return 2 * scale, scale // 2, 0


def head_always_odd(scale, centre):
    kernel = 2 * scale - 1
    padding = int((kernel - 1) / 2 - centre)
    return kernel, padding, scale - kernel + 2 * padding


def head_without_output_padding(scale, centre):
    return head_for(scale, centre)[:2] + (0,)


def head_padding_added(scale, centre):
    kernel, padding, _ = head_for(scale, centre)
    return kernel, padding, scale - kernel - 2 * padding


def tent_centre_without_padding(j, layers):
    position = j
    for kernel, stride, padding in layers:
        position = stride * position + (kernel - 1) / 2
    return position


def tent_centre_half_tap_off(j, layers):
    position = j
    for kernel, stride, padding in layers:
        position = stride * position + kernel / 2 - padding
    return position


def tent_centre_offsets_not_scaled(j, layers):
    position, offset = j, 0
    for kernel, stride, padding in layers:
        position = stride * position
        offset += (kernel - 1) / 2 - padding
    return position + offset


def tent_centre_rounded(j, layers):
    return int(tent_centre(j, layers))


def tent_centre_block_centre(j, layers):
    stride = 1
    for layer in layers:
        stride *= layer[1]
    return stride * j + (stride - 1) / 2


CHECKERS = {
    'check_fcn_sizes': (
        fcn_sizes, [sizes_rounded_down, sizes_cropped,
                    lambda h, w: (h, w)]),
    'check_head_parameters': (
        head_parameters, [parameters_without_bias, parameters_d2l_kernel,
                          parameters_learnable_as_fixed,
                          parameters_fixed_as_learnable]),
    'check_receptive_field': (
        receptive_field, [receptive_field_kernel_in_pixels,
                          receptive_field_new_jump,
                          receptive_field_padding_sign,
                          receptive_field_rounded,
                          lambda layers: receptive_field(layers)[:2]]),
    'check_head_for': (
        head_for, [head_always_d2l, head_always_odd,
                   head_without_output_padding, head_padding_added,
                   lambda scale, centre: (scale, 0, 0)]),
    'check_tent_centre': (
        tent_centre, [tent_centre_without_padding, tent_centre_half_tap_off,
                      tent_centre_offsets_not_scaled, tent_centre_rounded,
                      tent_centre_block_centre, lambda j, layers: 'centre']),
}


@pytest.mark.parametrize('wrong, expected', [
    (receptive_field_kernel_in_pixels, 'a step of that grid is not one pixel'),
    (receptive_field_field_in_pixels, 'field: expected 435, got 41'),
    (receptive_field_field_in_pixels, 'a step of that grid is not one pixel'),
    (receptive_field_new_jump, "does not include this layer's own stride"),
    (receptive_field_padding_sign, 'moves the centre up and left'),
    (receptive_field_padding_ignored, 'starts in the padding'),
    (receptive_field_rounded, 'can be a half-integer'),
    (receptive_field_rounded, '✓ ResNet-18 to the end of stage 4'),
    (receptive_field_new_jump, '✓ a 3x3 convolution, padding 1'),
    (lambda layers: receptive_field(layers)[:2],
     'expected a triple (field, jump, centre), got (3, 1)'),
    (lambda layers: None, 'expected a triple (field, jump, centre), got None'),
])
def test_receptive_field_mistakes_get_their_diagnosis(wrong, expected):
    text = repr(d2lfcn.check_receptive_field(wrong))
    assert 'not yet right' in text
    assert expected in text, text


def test_the_receptive_field_walk_agrees_with_the_recurrences():
    """The checker's pixel-by-pixel walk and the chapter's recurrences
    give the chapter's numbers: ResNet-18's stages see 43, 99, 211, 435
    pixels centred on 0; VGG-16 with pad 100 centres fc6's cell 0 on 12.5,
    which with the 64-tap upsampling (tent on 31.5) is the 19-pixel crop."""
    from d2lfcn.exercises.ch04b import (_receptive_field_brute_force,
                                  _resnet18_layers, _vgg16_fc6_layers)
    for stages, field in zip((1, 2, 3, 4), (43, 99, 211, 435)):
        layers = _resnet18_layers(stages)
        assert _receptive_field_brute_force(layers) == (field, 4 * 2 ** (
            stages - 1), 0.0) == receptive_field(layers)
    assert _receptive_field_brute_force(_vgg16_fc6_layers()) == \
        (404, 32, 12.5) == receptive_field(_vgg16_fc6_layers())
    assert tent_centre(0, [(64, 32, 0)]) - 12.5 == 19
    for layers in ([(2, 2, 0)], [(3, 2, 0)], [(5, 1, 4), (2, 2, 0)],
                   [(1, 2, 0), (3, 1, 1)], [(4, 3, 2), (2, 2, 1)]):
        assert _receptive_field_brute_force(layers) == receptive_field(layers)


@pytest.mark.parametrize('wrong, phrase', [
    (head_always_d2l, 'cannot put a tent peak on pixel scale * j + 0'),
    (head_always_odd, 'an odd kernel peaks on a pixel, an even one between'),
    (head_without_output_padding, 'must be scale * n'),
    (head_padding_added, 'output_padding must be in 0..stride-1'),
    (lambda scale, centre: (scale, 0, 0), '2 * scale - 1 or 2 * scale taps')])
def test_head_for_mistakes_get_their_diagnosis(wrong, phrase):
    assert phrase in repr(d2lfcn.check_head_for(wrong))


def test_head_for_gives_the_package_heads():
    """The answers for ResNet (centre 0) and for block-centred cells are the
    aligned and the d2l designs of bilinear_upsampler."""
    for scale in (2, 8, 32):
        for aligned, centre in ((True, 0), (False, (scale - 1) / 2)):
            layer = d2lfcn.bilinear_upsampler(1, scale, aligned)
            kernel, padding, output_padding = head_for(scale, centre)
            assert layer._kwargs['kernel'] == (kernel, kernel)
            assert layer._kwargs['pad'] == (padding, padding)
            assert layer._kwargs['adj'] == (output_padding, output_padding)


@pytest.mark.parametrize('wrong, phrases', [
    (tent_centre_without_padding,
     ['before the padding crops', '✓ cell 0, layers [(64, 32, 0)]']),
    (tent_centre_half_tap_off, ['half a pixel per layer']),
    (tent_centre_offsets_not_scaled,
     ['the next stride multiplies it', '✓ cell 3, layers [(64, 32, 16)] (the d2l']),
    (tent_centre_rounded,
     ['half-integer', '✓ cell 3, layers [(63, 32, 31)] (the aligned']),
    (tent_centre_block_centre,
     ['✓ cell 3, layers [(64, 32, 16)] (the d2l',
      '✗ cell 3, layers [(63, 32, 31)] (the aligned',
      'middle of the 32 output pixels under cell 3']),
    (lambda j, layers: 'centre',
     ["expected a number (a pixel position), got 'centre'"])],
    ids=['without_padding', 'half_tap_off', 'offsets_not_scaled', 'rounded',
         'block_centre', 'not_a_number'])
def test_tent_centre_mistakes_get_their_diagnosis(wrong, phrases):
    text = repr(d2lfcn.check_tent_centre(wrong))
    for phrase in phrases:
        assert phrase in text, text


def test_the_checker_measures_the_real_layers():
    """The expected centres come from running the layers; they agree with
    the chapter's formula s*j + (k - 1)/2 - p, layer after layer."""
    from d2lfcn.exercises.ch04b import _tent_centre_measured
    for j, layers in ((3, [(64, 32, 16)]), (3, [(63, 32, 31)]),
                      (0, [(64, 32, 0)]), (2, [(4, 2, 1), (32, 16, 8)]),
                      (1, [(4, 2, 1), (4, 2, 1), (16, 8, 4)])):
        assert abs(_tent_centre_measured(j, layers) -
                   tent_centre(j, layers)) < 1e-4


def test_the_reference_answers_match_the_chapter():
    assert receptive_field([(2, 2, 0)]) == (2, 2, 0.5)
    assert head_for(32, 0) == (63, 31, 31)
    assert head_for(32, 15.5) == (64, 16, 0)
    assert tent_centre(0, [(64, 32, 16)]) == 15.5
    assert tent_centre(0, [(63, 32, 31)]) == 0
    assert tent_centre(0, [(64, 32, 0)]) == 31.5


@pytest.mark.parametrize('wrong, phrase', [
    (sizes_rounded_down, 'rounds up, so a side of n pixels gives ceil'),
    (sizes_cropped, 'the crop to the image size comes after it'),
    (lambda h, w: (h, w), 'expected ((rows, cols), (up_rows, up_cols))'),
    (parameters_without_bias, 'a bias per class too'),
    (parameters_d2l_kernel, 'kernels of 2s - 1 = 63 taps'),
    (parameters_learnable_as_fixed, 'every class to every class'),
    (parameters_fixed_as_learnable, 'one filter per class (a depthwise')])
def test_size_and_parameter_mistakes_get_their_diagnosis(wrong, phrase):
    checker = (d2lfcn.check_fcn_sizes if 'sizes' in wrong.__name__ or
               wrong.__name__ == '<lambda>' else d2lfcn.check_head_parameters)
    text = repr(checker(wrong))
    assert phrase in text, text
