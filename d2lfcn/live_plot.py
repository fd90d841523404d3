"""The live plot of training: loss, pixel accuracy and mean IoU per epoch,
redrawn in place in a notebook while d2lfcn.train runs (the only module that
needs IPython)."""


def plot_history(history, num_epochs, figure=None, handle=None):
    """Draw loss, pixel accuracy and mean IoU per epoch of a train() history
    in a notebook; called again with the returned (figure, handle), it
    redraws in place (one display that is updated, so other output of the
    cell stays)."""
    import matplotlib.pyplot as plt
    from IPython import display
    if figure is None:
        figure = plt.figure(figsize=(9, 3))
    figure.clf()
    axes = figure.subplots(1, 3)
    epochs = [h['epoch'] for h in history]
    axes[0].plot(epochs, [h['train_loss'] for h in history], 'o-',
                 label='train')
    axes[0].set_title('loss')
    for ax, key in ((axes[1], 'pixel_accuracy'), (axes[2], 'mean_iou')):
        ax.plot(epochs, [h[f'train_{key}'] for h in history], 'o-',
                label='train crops')
        if f'val_{key}' in history[0]:
            ax.plot(epochs, [h[f'val_{key}'] for h in history], 's--',
                    label='val whole images')
        ax.set_title(key.replace('_', ' '))
        ax.set_ylim(0, 1)
    for ax in axes:
        ax.set_xlim(0.5, num_epochs + 0.5)
        ax.set_xlabel('epoch')
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    if handle is None:
        handle = display.display(figure, display_id=True)
    else:
        handle.update(figure)
    return figure, handle
