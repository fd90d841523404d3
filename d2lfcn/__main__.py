"""Command line: python -m d2lfcn {train, predict, download-voc} --help."""
import argparse
import os
import sys
from pathlib import Path


def _crop(text):
    try:
        h, w = (int(v) for v in text.lower().replace('x', ',').split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'crop must be HEIGHTxWIDTH such as 320x480, got {text!r}') from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f'crop sides must be >= 1, got {text!r}')
    return h, w


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'expected a {kind.__name__}, got {text!r}') from None
        if not value > 0 or value == float('inf'):   # also refuses nan
            raise argparse.ArgumentTypeError(
                f'must be a finite number > 0, got {text!r}')
        return value
    return parse


def _devices(text):
    from d2lfcn.devices import checked_devices, try_all_gpus
    if text == 'auto':
        return try_all_gpus()
    try:
        return checked_devices(text.split(','))
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser():
    parser = argparse.ArgumentParser(
        prog='python -m d2lfcn',
        description='Train FCNs for semantic segmentation, predict with '
                    'them, and fetch Pascal VOC 2012.')
    commands = parser.add_subparsers(dest='command', required=True)

    train = commands.add_parser(
        'train', help='train an FCN on VOC 2012 or the sample dataset',
        description='Train an FCN on ResNet-18. Without --voc-dir it uses '
                    'the real VOC 2012 under data/ if present, else the '
                    'bundled sample dataset.')
    train.add_argument('--voc-dir', type=Path,
                       help='a VOCdevkit/VOC2012 folder (default: see above)')
    train.add_argument('--variant', choices=('32s', '16s', '8s'),
                       default='32s')
    train.add_argument('--epochs', type=_positive(int), default=28,
                       help='epochs (default 28, as chapter 5)')
    train.add_argument('--batch-size', type=_positive(int),
                       help='crops per batch (default: 16 on the sample '
                            'dataset, as chapter 5; 8 on VOC 2012)')
    train.add_argument('--crop', type=_crop,
                       help='training crop HEIGHTxWIDTH (default: 128x160 on '
                            'the sample dataset, as chapter 5; 320x480 on '
                            'VOC 2012)')
    train.add_argument('--lr', type=_positive(float), default=1e-3,
                       help='Adam learning rate at the start (default 1e-3); '
                            'the poly schedule lowers it to 0 over the run, '
                            'as in chapter 5 (weight decay 1e-4)')
    train.add_argument('--seed', type=int, default=0,
                       help='seed of the initial weights, crops and batch '
                            'order (default 0, as chapter 5)')
    train.add_argument('--devices', type=_devices, default='auto',
                       help="'auto' (all GPUs, else the CPU) or a list such "
                            "as gpu0,gpu1 or cpu")
    train.add_argument('--checkpoint-dir', type=Path, default=Path('checkpoints'))
    train.add_argument('--resume', action='store_true',
                       help='continue from the last checkpoint in '
                            '--checkpoint-dir')
    start = train.add_mutually_exclusive_group()
    start.add_argument('--pretrained', dest='pretrained', action='store_true',
                       default=None,
                       help='start the backbone from ImageNet weights (the '
                            'default on VOC 2012; needs the model zoo file '
                            'or --weights)')
    start.add_argument('--no-pretrained', dest='pretrained',
                       action='store_false',
                       help='start from random weights (the default on the '
                            'sample dataset, as chapter 5)')
    train.add_argument('--weights', type=Path,
                       help='backbone .params file instead of the model zoo')
    train.add_argument('--amp', action='store_true',
                       help='mixed precision on GPUs (untested here)')

    predict = commands.add_parser(
        'predict', help='colour the class map of images',
        description='Write the class map of each image into OUT_DIR as a '
                    'palette PNG in the VOC format (pixel value = class, '
                    'shown in the VOC colours), or with --overlay an RGB '
                    'picture of the classes blended over the image. Input '
                    'images are never overwritten.')
    predict.add_argument('images', nargs='+', type=Path, metavar='IMAGE')
    predict.add_argument('-o', '--out-dir', type=Path, required=True)
    predict.add_argument('--checkpoint', type=Path, required=True,
                         help='a checkpoint folder (epoch-NNNN), a '
                              '--checkpoint-dir of train (its newest), or '
                              'a .params file')
    predict.add_argument('--variant', choices=('32s', '16s', '8s'),
                         help='default: the checkpoint says')
    predict.add_argument('--num-classes', type=_positive(int),
                         help='default: the checkpoint says, else 21')
    predict.add_argument('--devices', type=_devices, default='auto')
    predict.add_argument('--overlay', action='store_true',
                         help='blend the classes over the image')
    predict.add_argument('--overwrite', action='store_true',
                         help='replace existing output files')

    download = commands.add_parser(
        'download-voc', help='download and extract Pascal VOC 2012 (2 GB)')
    download.add_argument('--data-dir', type=Path,
                          help='where VOCdevkit/ goes (default: data/)')
    download.add_argument('--url', help='a mirror of '
                          'VOCtrainval_11-May-2012.tar (the SHA-1 is still '
                          'checked)')
    return parser


RECIPES = {
    'sample dataset': {'crop': (128, 160), 'batch_size': 16,
                       'pretrained': False},
    'VOC 2012': {'crop': (320, 480), 'batch_size': 8, 'pretrained': True}}
"""The defaults of train for each kind of data: chapter 5's settings on the
sample dataset, the d2l chapter's crop and ImageNet weights on VOC 2012."""

OPTION_OF = {'crop_size': '--crop', 'batch_size': '--batch-size',
             'num_epochs': '--epochs', ' or pad=True': ''}
"""API words in error messages of the package, and the train option the
command line has for each (pad has none)."""


def _in_option_words(error):
    """The error with the package's argument names replaced by train's
    options, of the same type."""
    text = str(error)
    for word, option in OPTION_OF.items():
        text = text.replace(word, option)
    return type(error)(text)


def _recipe(args, voc_dir):
    """(crop, batch_size, pretrained): the options given, else the defaults
    of the data found; prints what was chosen."""
    from d2lfcn.sample_data import is_sample_voc
    data = 'sample dataset' if is_sample_voc(voc_dir) else 'VOC 2012'
    defaults = RECIPES[data]
    crop = args.crop or defaults['crop']
    batch_size = args.batch_size or defaults['batch_size']
    pretrained = defaults['pretrained'] if args.pretrained is None \
        else args.pretrained
    start = (f'backbone from {args.weights}' if args.weights else
             'ImageNet backbone' if pretrained else 'random initial weights')
    print(f'{data}: crop {crop[0]}x{crop[1]}, batch {batch_size}, '
          f'{args.epochs} epochs, {start}, Adam lr {args.lr:g} with the '
          f'poly schedule, seed {args.seed}')
    return crop, batch_size, pretrained


def run_train(args):
    import mxnet as mx
    import numpy as np

    from d2lfcn.data import load_data_voc
    from d2lfcn.find_data import find_voc_dir
    from d2lfcn.model import fcn_resnet18
    from d2lfcn.training import SegmentationLoss, poly_trainer, train
    _check_checkpoint_dir(args.checkpoint_dir, args.resume)
    voc_dir = find_voc_dir(args.voc_dir)
    crop, batch_size, pretrained = _recipe(args, voc_dir)
    try:
        train_iter, val = load_data_voc(batch_size, crop, voc_dir, flip=True)
    except ValueError as e:
        raise _in_option_words(e) from None
    mx.random.seed(args.seed)            # as chapter 5: after the data,
    np.random.seed(args.seed)            # before the weights
    net = fcn_resnet18(21, pretrained=pretrained, variant=args.variant,
                       weights=args.weights, devices=args.devices)
    trainer = poly_trainer(net.collect_params(), args.lr,
                           args.epochs * len(train_iter))
    history = train(net, train_iter, val, SegmentationLoss(), trainer,
                    args.epochs, args.devices,
                    checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                    amp=args.amp, plot=False)
    if history:
        print(f'checkpoints in {args.checkpoint_dir}; last val mIoU '
              f'{history[-1]["val_mean_iou"]:.3f}')


def _check_checkpoint_dir(folder, resume):
    """Before any training: the checkpoint folder can be written, and holds
    a run to resume if --resume asks for one."""
    import os

    from d2lfcn.checkpoints import list_checkpoints
    from d2lfcn.folder_lock import FolderInUseError, in_use_by
    if folder.exists() and not folder.is_dir():
        raise ValueError(f'--checkpoint-dir {folder} is a file, not a folder; '
                         f'choose another --checkpoint-dir')
    holder = in_use_by(folder)
    if holder:
        raise FolderInUseError(
            f'--checkpoint-dir {folder} is in use by {holder}; wait until '
            f'that run ends (or stop it), or choose another --checkpoint-dir')
    if resume and not list_checkpoints(folder):
        raise FileNotFoundError(
            f'nothing to resume in {folder}: it holds no complete checkpoint. '
            f'Leave out --resume to start a new run there, or give the '
            f'--checkpoint-dir of the run to continue')
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f'cannot write checkpoints into {folder}: '
                              f'{existing} is not writable; choose another '
                              f'--checkpoint-dir')


def _read_image(path):
    """RGB or RGBA pixels of an image file, turned as its EXIF orientation
    says (as image viewers show it)."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    from d2lfcn.voc import photo_pixels, refuse_truncated_images
    try:
        with refuse_truncated_images(), Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if 'A' not in im.getbands():
                return photo_pixels(im, path)     # deep grey images too
            return np.asarray(im.convert('RGBA'))
    except FileNotFoundError:
        raise FileNotFoundError(f'no image at {path}') from None
    except IsADirectoryError:
        raise ValueError(f'{path} is a folder, not an image') from None
    except Image.DecompressionBombError as e:
        raise ValueError(f'{path} is too large to decode safely ({e})') \
            from None
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f'{path} is not a readable image ({e})') from None


def _checkpoint_meta(path):
    """(checkpoint, its meta dict): a train --checkpoint-dir means its newest."""
    from d2lfcn.checkpoints import list_checkpoints, read_checkpoint_meta
    if path.is_dir() and not (path / 'meta.json').exists():
        found = list_checkpoints(path)
        if not found:
            raise FileNotFoundError(f'{path} holds no complete checkpoint')
        path = found[-1]
    return path, read_checkpoint_meta(path)


def run_predict(args):
    from PIL import Image

    from d2lfcn.checkpoints import load_checkpoint
    from d2lfcn.model import fcn_resnet18
    from d2lfcn.prediction import overlay, predict
    from d2lfcn.voc import write_label_png
    path, meta = _checkpoint_meta(args.checkpoint)
    net = fcn_resnet18(args.num_classes or meta.get('num_classes') or 21,
                       pretrained=False,
                       variant=args.variant or meta.get('variant') or '32s',
                       devices=args.devices, learn_final_upsampling=bool(
                           meta.get('learn_final_upsampling')))
    load_checkpoint(path, net, devices=args.devices)
    net.hybridize(static_alloc=True)
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise ValueError(f'-o {args.out_dir} is a file, not a folder; give '
                         f'a folder for the outputs')
    outputs = [args.out_dir / f'{image.stem}.png' for image in args.images]
    by_output = {}
    for image, out in zip(args.images, outputs):
        if out in by_output:
            raise ValueError(f'{by_output[out]} and {image} have the same '
                             f'name stem: both outputs would be {out}; '
                             f'rename one or predict them separately')
        by_output[out] = image
    inputs = {p.resolve() for p in args.images}
    for out in outputs:
        if out.resolve() in inputs:
            raise ValueError(f'{out} is one of the input images and would be '
                             f'replaced by its class map; choose another -o '
                             f'folder')
    existing = [str(o) for o in outputs if o.exists()]
    if existing and not args.overwrite:
        more = f' (and {len(existing) - 1} more)' if len(existing) > 1 else ''
        raise FileExistsError(f'{existing[0]} exists{more}; pass --overwrite '
                              f'to replace it')
    pictures = [_read_image(p) for p in args.images]   # all, before writing
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for image_path, out, pixels in zip(args.images, outputs, pictures):
        pred = predict(net, pixels, args.devices)
        # written under a temporary name, then renamed: a file replaced is
        # replaced whole (never written through a link to another file),
        # and an interrupted write leaves no half picture
        tmp = out.with_name(f'.{out.stem}.{os.getpid()}.partial.png')
        try:
            if args.overlay:
                Image.fromarray(overlay(pixels, pred)).save(tmp, format='PNG')
            else:
                write_label_png(pred, tmp)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        print(f'{image_path} -> {out} ({pred.shape[0]}x{pred.shape[1]})')


def run_download(args):
    from d2lfcn.download import VOC_URL, download_voc
    voc_dir = download_voc(args.data_dir, url=args.url or VOC_URL)
    print(f'Pascal VOC 2012 is in {voc_dir}')


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    run = {'train': run_train, 'predict': run_predict,
           'download-voc': run_download}[args.command]
    from mxnet.base import MXNetError
    from PIL import Image
    try:
        run(args)
    except (ValueError, TypeError, OSError, FloatingPointError,
            Image.DecompressionBombError) as e:
        # OSError: missing, existing or unwritable files, a full disk,
        # network errors of download-voc
        print(f'python -m d2lfcn {args.command}: error: {e}', file=sys.stderr)
        return 2
    except MXNetError as e:
        from d2lfcn.validate import error_line
        print(f'python -m d2lfcn {args.command}: error: MXNet failed: '
              f'{error_line(e, 300)}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = ('; the last complete checkpoint is kept'
                if args.command == 'train' else '')
        print(f'interrupted{kept}', file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
