"""The chapter 4 checkers accept right answers, reject typical wrong ones
with a message that says what is wrong, and treat the student stub as
'not solved yet'."""

import d2lfcn


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (what the teacher edition holds) ----------------

def stage_sizes(height, width):
    sizes = []
    for _ in range(5):
        height, width = -(-height // 2), -(-width // 2)
        sizes.append((height, width))
    return sizes


def upsampling_params(num_classes, scale, aligned=True):
    k = 2 * scale - 1 if aligned else 2 * scale
    return num_classes * num_classes * k * k, num_classes * k * k


def tent_centre(j, layers):
    position = j
    for kernel, stride, padding in layers:
        position = stride * position + (kernel - 1) / 2 - padding
    return position


# ---- typical wrong answers ------------------------------------------------

def stage_sizes_floor(height, width):
    sizes = []
    for _ in range(5):
        height, width = height // 2, width // 2
        sizes.append((height, width))
    return sizes


def stage_sizes_without_pooling(height, width):
    return stage_sizes(height, width)[:4]


def stage_sizes_swapped(height, width):
    return [(w, h) for h, w in stage_sizes(height, width)]


def upsampling_params_all_pairs(num_classes, scale, aligned=True):
    total = num_classes * num_classes * (2 * scale - aligned) ** 2
    return total, total


def upsampling_params_one_kernel_per_class(num_classes, scale, aligned=True):
    n = num_classes * (2 * scale - aligned) ** 2
    return n, n


def upsampling_params_kernel_as_stride(num_classes, scale, aligned=True):
    return num_classes ** 2 * scale ** 2, num_classes * scale ** 2


def upsampling_params_always_d2l(num_classes, scale, aligned=True):
    k = 2 * scale       # the d2l kernel size for both designs
    return num_classes * num_classes * k * k, num_classes * k * k


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
    'check_stage_sizes': (
        stage_sizes, [stage_sizes_floor, stage_sizes_without_pooling,
                      stage_sizes_swapped, lambda h, w: (h // 32, w // 32)]),
    'check_upsampling_params': (
        upsampling_params, [upsampling_params_all_pairs,
                            upsampling_params_one_kernel_per_class,
                            upsampling_params_kernel_as_stride,
                            upsampling_params_always_d2l,
                            lambda c, s, a: c * c * 4 * s * s]),
    'check_tent_centre': (
        tent_centre, [tent_centre_without_padding, tent_centre_half_tap_off,
                      tent_centre_offsets_not_scaled, tent_centre_rounded,
                      tent_centre_block_centre, lambda j, layers: 'centre']),
}


def test_typical_mistakes_get_their_diagnosis():
    text = repr(d2lfcn.check_stage_sizes(stage_sizes_floor))
    assert 'round up' in text and '321x479 input: after the 7x7' in text
    assert '320x480 input' in text and '✓ 320x480' in text
    text = repr(d2lfcn.check_stage_sizes(stage_sizes_without_pooling))
    assert 'max pooling counts too' in text
    text = repr(d2lfcn.check_stage_sizes(stage_sizes_swapped))
    assert 'swapped' in text
    text = repr(d2lfcn.check_upsampling_params(upsampling_params_all_pairs))
    assert 'channel c to channel c' in text
    text = repr(d2lfcn.check_upsampling_params(
        upsampling_params_one_kernel_per_class))
    assert 'every (input, output) channel pair' in text
    text = repr(d2lfcn.check_upsampling_params(
        upsampling_params_kernel_as_stride))
    assert 'twice the stride' in text
    text = repr(d2lfcn.check_upsampling_params(upsampling_params_always_d2l))
    assert 'aligned=True builds the aligned design' in text
    assert '✓ 21 classes, scale 32, aligned=False' in text
    assert '✗ 21 classes, scale 32, aligned=True' in text


def test_tent_centre_mistakes_get_their_diagnosis():
    text = repr(d2lfcn.check_tent_centre(tent_centre_without_padding))
    assert 'before the padding crops' in text
    assert '✓ cell 0, layers [(64, 32, 0)]' in text
    text = repr(d2lfcn.check_tent_centre(tent_centre_half_tap_off))
    assert 'half a pixel per layer' in text
    text = repr(d2lfcn.check_tent_centre(tent_centre_offsets_not_scaled))
    assert 'the next stride multiplies it' in text
    assert '✓ cell 3, layers [(64, 32, 16)] (the d2l' in text
    text = repr(d2lfcn.check_tent_centre(tent_centre_rounded))
    assert 'half-integer' in text
    assert '✓ cell 3, layers [(63, 32, 31)] (the aligned' in text
    text = repr(d2lfcn.check_tent_centre(tent_centre_block_centre))
    assert '✓ cell 3, layers [(64, 32, 16)] (the d2l' in text
    assert '✗ cell 3, layers [(63, 32, 31)] (the aligned' in text
    assert 'middle of the 32 output pixels under cell 3' in text
    text = repr(d2lfcn.check_tent_centre(lambda j, layers: 'centre'))
    assert "expected a number (a pixel position), got 'centre'" in text


def test_the_checker_measures_the_real_layers():
    """The expected centres come from running the layers; they agree with
    the chapter's formula s*j + (k - 1)/2 - p, layer after layer."""
    from d2lfcn.exercises import _tent_centre_measured
    for j, layers in ((3, [(64, 32, 16)]), (3, [(63, 32, 31)]),
                      (0, [(64, 32, 0)]), (2, [(4, 2, 1), (32, 16, 8)]),
                      (1, [(4, 2, 1), (4, 2, 1), (16, 8, 4)])):
        assert abs(_tent_centre_measured(j, layers) -
                   tent_centre(j, layers)) < 1e-4


def test_the_reference_answers_match_the_chapter():
    assert stage_sizes(320, 480)[-1] == (10, 15)
    assert upsampling_params(21, 32, aligned=False) == (1806336, 86016)
    assert upsampling_params(21, 32) == (1750329, 83349)
    assert tent_centre(0, [(64, 32, 16)]) == 15.5
    assert tent_centre(0, [(63, 32, 31)]) == 0
    assert tent_centre(0, [(64, 32, 0)]) == 31.5
