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


def upsampling_params(num_classes, scale):
    k = 2 * scale
    return num_classes * num_classes * k * k, num_classes * k * k


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


def upsampling_params_all_pairs(num_classes, scale):
    total = num_classes * num_classes * (2 * scale) ** 2
    return total, total


def upsampling_params_one_kernel_per_class(num_classes, scale):
    n = num_classes * (2 * scale) ** 2
    return n, n


def upsampling_params_kernel_as_stride(num_classes, scale):
    return num_classes ** 2 * scale ** 2, num_classes * scale ** 2


CHECKERS = {
    'check_stage_sizes': (
        stage_sizes, [stage_sizes_floor, stage_sizes_without_pooling,
                      stage_sizes_swapped, lambda h, w: (h // 32, w // 32)]),
    'check_upsampling_params': (
        upsampling_params, [upsampling_params_all_pairs,
                            upsampling_params_one_kernel_per_class,
                            upsampling_params_kernel_as_stride,
                            lambda c, s: c * c * 4 * s * s]),
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


def test_the_reference_answers_match_the_chapter():
    assert stage_sizes(320, 480)[-1] == (10, 15)
    assert upsampling_params(21, 32) == (1806336, 86016)
