"""Benchmark: d2lfcn.VOCSegDataset against the d2l reference implementation.

Both read the same generated VOC-format data, build a training dataset of
random crops and go through it with a gluon DataLoader (num_workers=0).
d2lfcn runs twice: keep='encoded' (the default: compressed file bytes in
memory, decoded per item) and keep='decoded' (uint8 arrays). Each run is in
its own subprocess, so the peak resident memory (ru_maxrss) of one does not
count for the other. Printed per implementation:
seconds to build the dataset, throughput in crops per second, peak RSS and
the peak RSS above the process's baseline after imports (the memory the data
pipeline itself costs).

Usage (not a test; needs d2l 1.0.3, which `make` installs in the venv):

    .venv/bin/python bench/bench_data.py [--num-train 600] [--epochs 2]
        [--batch-size 32] [--crop 128 160]

The default crop fits the sample dataset (images of about 190x250 pixels,
half VOC's scale): d2l's dataset drops every image smaller than the crop.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def rss_mb():
    """Current resident set size in MB (Linux /proc)."""
    with open('/proc/self/statm') as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2**20


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(impl, voc_dir, crop, batch_size, epochs):
    """Runs in the child: build the dataset, iterate, print one JSON line."""
    import mxnet as mx
    from mxnet import gluon
    if impl == 'd2l':
        from mxnet import npx
        from d2l import mxnet as d2l
        npx.set_np()
        make = lambda: d2l.VOCSegDataset(True, crop, voc_dir)  # noqa: E731
    else:
        import d2lfcn
        keep = 'decoded' if impl == 'ours-decoded' else 'encoded'
        make = lambda: d2lfcn.VOCSegDataset(  # noqa: E731
            True, crop, voc_dir, keep=keep)
    mx.random.seed(0)
    baseline = rss_mb()
    start = time.perf_counter()
    dataset = make()
    build = time.perf_counter() - start
    loader = gluon.data.DataLoader(dataset, batch_size, shuffle=True,
                                   last_batch='discard', num_workers=0)
    crops = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for X, Y in loader:
            X.wait_to_read()
            Y.wait_to_read()
            crops += X.shape[0]
    seconds = time.perf_counter() - start
    print(json.dumps({
        'impl': impl, 'examples': len(dataset), 'build_s': build,
        'crops': crops, 'crops_per_s': crops / seconds,
        'baseline_mb': baseline, 'peak_mb': peak_rss_mb(),
        'x_dtype': str(X.dtype), 'x_shape': list(X.shape),
        'y_shape': list(Y.shape)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-train', type=int, default=600)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--crop', type=int, nargs=2, default=(128, 160))
    parser.add_argument('--child', choices=['ours', 'ours-decoded', 'd2l'])
    parser.add_argument('--voc-dir')
    args = parser.parse_args()
    crop = tuple(args.crop)
    if args.child:
        run_one(args.child, args.voc_dir, crop, args.batch_size, args.epochs)
        return

    import d2lfcn
    start = time.perf_counter()
    voc_dir = d2lfcn.make_sample_voc(
        Path(d2lfcn.DATA_DIR) / f'bench_voc_{args.num_train}',
        num_train=args.num_train, num_val=10)
    print(f'sample data: {voc_dir} ({args.num_train} train images, ready '
          f'in {time.perf_counter() - start:.1f} s); crop {crop}, batch '
          f'{args.batch_size}, {args.epochs} epochs, num_workers=0')
    results = {}
    for impl in ('d2l', 'ours', 'ours-decoded'):
        out = subprocess.run(
            [sys.executable, __file__, '--child', impl, '--voc-dir',
             str(voc_dir), '--crop', *map(str, crop), '--batch-size',
             str(args.batch_size), '--epochs', str(args.epochs)],
            capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(f'{impl} failed:\n{out.stderr[-3000:]}')
        results[impl] = json.loads(out.stdout.strip().splitlines()[-1])

    names = {'d2l': 'd2l 1.0.3 reference',
             'ours': "d2lfcn keep='encoded'",
             'ours-decoded': "d2lfcn keep='decoded'"}
    print(f'{"implementation":<22} {"examples":>8} {"build s":>8} '
          f'{"crops/s":>8} {"peak RSS MB":>12} {"above baseline MB":>18}')
    for impl, r in results.items():
        print(f'{names[impl]:<22} {r["examples"]:>8} {r["build_s"]:>8.2f} '
              f'{r["crops_per_s"]:>8.1f} {r["peak_mb"]:>12.0f} '
              f'{r["peak_mb"] - r["baseline_mb"]:>18.0f}')
    ref = results['d2l']
    for impl in ('ours', 'ours-decoded'):
        ours = results[impl]
        mem_ratio = ((ours['peak_mb'] - ours['baseline_mb'])
                     / (ref['peak_mb'] - ref['baseline_mb']))
        speed_ratio = ours['crops_per_s'] / ref['crops_per_s']
        print(f'{names[impl]}: memory above baseline {mem_ratio:.2f} x the '
              f'reference (target <= 0.25), peak RSS '
              f'{ours["peak_mb"] / ref["peak_mb"]:.2f} x, throughput '
              f'{speed_ratio:.2f} x (target >= 1.00)')


if __name__ == '__main__':
    main()
