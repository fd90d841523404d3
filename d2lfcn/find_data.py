"""Which dataset the course uses: the real Pascal VOC 2012 if it is in the
data folder, else the generated sample dataset (made on first use).

This module sits above the reader (``d2lfcn.voc``, ``d2lfcn.data``) and the
generator (``d2lfcn.sample_data``), so that neither needs the other.
"""
from pathlib import Path

from d2lfcn import locations
from d2lfcn.sample_data import (SAMPLE_FOLDER, SAMPLE_NUM_TRAIN,
                                SAMPLE_NUM_VAL, make_sample_voc)
from d2lfcn.voc import is_complete_voc, split_names

QUICK_SAMPLE = ('sample_voc_quick', 48, 24)
"""(folder, num_train, num_val) of the small sample set of the quick
profile: its own folder, so that the quick and the full set never mix."""


def find_voc_dir(voc_dir=None, quick=False, verbose=True):
    """The VOCdevkit/VOC2012 folder to use, as a Path.

    A given voc_dir is checked and returned. None picks the real VOC 2012
    under d2lfcn.DATA_DIR if it is complete, else the sample dataset
    (generated on first use; quick=True: the small one of the quick
    profile, in seconds), and prints which in one line.
    """
    if voc_dir is not None:
        split_names(voc_dir, 'train')   # the folder and its split, before any work
        return Path(voc_dir)
    data_dir = locations.checked_data_dir(write=False)
    real = data_dir / 'VOCdevkit' / 'VOC2012'
    if is_complete_voc(real):
        if verbose:
            print(f'Using the real Pascal VOC 2012 in '
                  f'{locations.short_path(real)}')
        return real
    folder, num_train, num_val = QUICK_SAMPLE if quick else (
        SAMPLE_FOLDER, SAMPLE_NUM_TRAIN, SAMPLE_NUM_VAL)
    sample = make_sample_voc(data_dir / folder, num_train, num_val)
    if verbose:
        print(f'Using the sample dataset in {locations.short_path(sample)} '
              f'({num_train} train, {num_val} val images; the real VOC 2012 '
              f'is not in {locations.short_path(real)}, d2lfcn.download_voc() '
              f'fetches it)')
    return sample
