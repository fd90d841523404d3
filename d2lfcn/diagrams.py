"""Diagrams drawn with matplotlib: FCN-32s, -16s and -8s on ResNet-18 as boxes
and arrows (chapter 7)."""


_FCN_COLOURS = {'input': '#dddddd', 'stage': '#a6cee3', 'score': '#fdbf6f',
                'up': '#b2df8a'}


def _node(ax, x, y, text, kind, width=0.9):
    """A box of colour _FCN_COLOURS[kind] (a circle if kind is 'add')."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    if kind == 'add':
        ax.add_patch(plt.Circle((x, y), 0.17, fc='white', ec='k', lw=0.8))
    else:
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.3), width, 0.6,
                                    boxstyle='round,pad=0.02', lw=0.8,
                                    fc=_FCN_COLOURS[kind], ec='k'))
    ax.text(x, y, text, ha='center', va='center', fontsize=6.5)


def _arrow(ax, start, end, bend=False):
    """An arrow from start to end; bend: go down first, then right."""
    style = 'angle,angleA=-90,angleB=180,rad=0' if bend else 'arc3'
    ax.annotate('', xy=end, xytext=start, arrowprops=dict(
        arrowstyle='->', lw=0.8, shrinkA=0, shrinkB=0, connectionstyle=style))


def draw_fcn(ax, variant):
    """Draw FCN-32s, -16s or -8s (variant '32s', '16s', '8s') on ResNet-18 as
    boxes and arrows: the backbone and main path on one line, the skip score
    layers below it, each feeding an addition."""
    top = [('image\nH x W', 'input'),
           ('stem +\nstages 1-2\n/8, 128 ch', 'stage'),
           ('stage 3\n/16, 256 ch', 'stage'), ('stage 4\n/32, 512 ch', 'stage'),
           ('score32\n1x1 conv', 'score')]
    skips = {'16s': ['16'], '8s': ['16', '8']}.get(variant, [])
    for s in skips:
        top += [('up x2\n/32 to /16' if s == '16' else 'up x2\n/16 to /8',
                 'up'), ('+', 'add')]
    top += [(f'up x{variant[:-1]}\n/{variant[:-1]} to /1', 'up'),
            ('scores\nH x W', 'input')]
    xs = [0.6 + 1.1 * i for i in range(len(top))]
    for i, (x, (text, kind)) in enumerate(zip(xs, top)):
        _node(ax, x, 1, text, kind)
        if i:
            gap = [0.17 if k == 'add' else 0.45 for _, k in top[i - 1:i + 1]]
            _arrow(ax, (xs[i - 1] + gap[0], 1), (x - gap[1], 1))
    adds = [x for x, (_, kind) in zip(xs, top) if kind == 'add']
    for s, x_add in zip(skips, adds):
        source, y = (xs[2], 0) if s == '16' else (xs[1], -0.8)
        _node(ax, x_add, y, f'score{s}\n1x1, zero init', 'score', width=1.0)
        _arrow(ax, (source, 0.7), (x_add - 0.5, y), bend=True)
        _arrow(ax, (x_add, y + 0.3), (x_add, 0.83))
    ax.set_xlim(0, 12.2)
    ax.set_ylim(-1.2 if skips[1:] else -0.4 if skips else 0.6, 1.4)
    ax.set_aspect('equal')
    ax.axis('off')
    ax.set_title(f'FCN-{variant}', fontsize=9, loc='left')
