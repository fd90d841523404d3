"""d2lfcn: the helper package of the d2l-fcn course.

A module per topic, layered as data flows (see CONTRIBUTING.md); the names
below are the public API that the notebooks use. No module of the package
reads anything from here.
"""
import os

from d2lfcn.threads import use_all_cores

THREADS = use_all_cores()
"""The OMP_NUM_THREADS that MXNet computes with, set to every core before
any module of d2lfcn imports MXNet (unless the user set it; None if MXNet
was imported first, see d2lfcn.threads)."""

QUICK = os.environ.get('D2LFCN_QUICK', '').strip().lower() not in (
    '', '0', 'false', 'no', 'off')
"""True in the quick profile (D2LFCN_QUICK=1, as `make test` sets): the
notebooks read it to choose smaller data and fewer epochs, and pass those
choices to the functions they call. No function of d2lfcn reads it."""

from d2lfcn.locations import DATA_DIR, IMG_DIR, ROOT  # noqa: E402

from d2lfcn.convolution import (conv_output_size, corr2d,  # noqa: E402
                                kernel2matrix, trans_conv,
                                trans_conv_output_size)
from d2lfcn.upsampling import (bilinear_kernel, upsample_bilinear,  # noqa: E402
                               upsample_nearest)
from d2lfcn.exercises import (check_bilinear_params,  # noqa: E402
                              check_border_fix, check_conv_input_grad,
                              check_overlap_counts,
                              check_trans_conv_by_zero_insertion)

__version__ = '0.1.0'

# Chapter 3: semantic segmentation data (Pascal VOC 2012 and the sample set)
from d2lfcn.voc import (IGNORE_LABEL, VOC_CLASSES, VOC_COLORMAP,  # noqa: E402
                        label_to_rgb, read_voc_images, voc_label_indices,
                        voc_palette)
from d2lfcn.data import (VOCSegDataset, VOCWholeImages,  # noqa: E402
                         denormalize_image, load_data_voc, normalize_image,
                         pad_to_size, voc_rand_crop)
from d2lfcn.download import download_voc  # noqa: E402
from d2lfcn.sample_data import make_sample_voc  # noqa: E402
from d2lfcn.find_data import find_voc_dir  # noqa: E402
from d2lfcn.plotting import class_legend, show_images  # noqa: E402
from d2lfcn.exercises import (check_crop_coverage,  # noqa: E402
                              check_median_frequency_weights)

# Chapters 4-6: the model, training with metrics, prediction
from d2lfcn.model import (FCN, bilinear_upsampler, fcn_resnet18,  # noqa: E402
                          fcn_like, finer_fcn)
from d2lfcn.metrics import SegMetric  # noqa: E402
from d2lfcn.devices import try_all_gpus, try_gpu  # noqa: E402
from d2lfcn.training import (SegmentationLoss, evaluate,  # noqa: E402
                             poly_trainer, train)
from d2lfcn.checkpoints import load_checkpoint  # noqa: E402
from d2lfcn.prediction import overlay, predict  # noqa: E402
from d2lfcn.exercises import (check_border_as_background,  # noqa: E402
                              check_uniform_loss)
from d2lfcn.plotting import iou_table, plot_confusion  # noqa: E402
from d2lfcn.live_plot import plot_history  # noqa: E402
from d2lfcn.diagrams import draw_fcn  # noqa: E402
from d2lfcn.exercises import (check_pad_predict,  # noqa: E402
                              check_shift_and_stitch, check_tile_predict)
from d2lfcn.exercises import check_block_oracle, check_fuse_skip  # noqa: E402
from d2lfcn.exercises import (check_receptive_field,  # noqa: E402
                              check_head_for, check_tent_centre)
from d2lfcn.exercises import (check_fcn_sizes,  # noqa: E402
                              check_head_parameters)
from d2lfcn.exercises import (check_loss_scales,  # noqa: E402
                              check_newest_checkpoint)
