"""Checkers for the auto-checked exercises.

A checker takes the learner's function, runs it on several cases and
returns a ``Report``. Shown in a notebook, the report says for each case
what is right or wrong (which shape, which value) with a hint, but never the
solution's code. A function that still raises ``NotImplementedError`` (the
stub of the student edition) is reported as "not solved yet".

One module per chapter (ch01 ... ch08, and ch04b for the deep dive), as the
chapters use them; the shared machinery is in common.
"""
from d2lfcn.exercises.common import Report  # noqa: F401
from d2lfcn.exercises.ch01 import check_conv_input_grad, check_trans_conv_by_zero_insertion  # noqa: F401
from d2lfcn.exercises.ch02 import check_bilinear_params, check_border_fix, check_overlap_counts  # noqa: F401
from d2lfcn.exercises.ch03 import check_crop_coverage, check_median_frequency_weights  # noqa: F401
from d2lfcn.exercises.ch04 import check_fcn_sizes, check_head_parameters  # noqa: F401
from d2lfcn.exercises.ch04b import check_head_for, check_receptive_field, check_tent_centre  # noqa: F401
from d2lfcn.exercises.ch05 import check_border_as_background, check_uniform_loss  # noqa: F401
from d2lfcn.exercises.ch06 import check_pad_predict, check_shift_and_stitch, check_tile_predict  # noqa: F401
from d2lfcn.exercises.ch07 import check_block_oracle, check_fuse_skip  # noqa: F401
from d2lfcn.exercises.ch08 import check_loss_scales, check_newest_checkpoint  # noqa: F401
