"""The speedrun's recipe in PyTorch on the CPU, for a side-by-side time to accuracy.

    python benchmarks/speedrun_torch.py [--epochs 10] [--widths 64,128,128] [--seed 0] [--data-dir DIR | --data FILE.npz]

Same data arrays (tinycnn.datasets), normalisation, whitening kernel, augmentation
(tinycnn.speedrun.epoch_images, so both see the same kind of images) and TTA formula as
``tinycnn speedrun``; the network and optimizer are PyTorch's own, in airbench's original
form (loss summed over the batch, SGD with coupled weight decay and Nesterov momentum,
per-group rates for the BN biases, LambdaLR per step, Lookahead on the state dict with the
schedule of tinycnn.speedrun.lookahead, the last partial batch dropped), channels-last
float32, 2 threads.
Prints the same final JSON line as ``tinycnn speedrun``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(recipe, whitening):
    import torch
    from torch import nn

    class Conv(nn.Conv2d):
        def __init__(self, cin, cout):
            super().__init__(cin, cout, 3, padding="same", bias=False)
            with torch.no_grad():
                if "dirac" not in recipe.tricks_off:
                    nn.init.dirac_(self.weight[:cin])

    def norm(width):
        bn = nn.BatchNorm2d(width, eps=1e-12, momentum=1 - recipe.bn_momentum ** (recipe.batch_size / 1024))
        bn.weight.requires_grad = False  # no gamma, as the tinycnn model
        return bn

    stack = [nn.Conv2d(3, 24, 2, bias=True), nn.GELU()]
    cin = 24
    for width in recipe.widths:
        stack += [Conv(cin, width), nn.MaxPool2d(2), norm(width), nn.GELU(), Conv(width, width), norm(width),
                  nn.GELU()]
        cin = width
    class Scale(nn.Module):  # the fixed output scale (tinycnn's Rescaling)
        def forward(self, x):
            return x * recipe.output_scale

    stack += [nn.MaxPool2d(3), nn.Flatten(), nn.Linear(cin, 10, bias=False), Scale()]
    model = nn.Sequential(*stack)
    with torch.no_grad():
        model[0].bias.zero_()
        if whitening is not None:
            model[0].weight.copy_(torch.from_numpy(whitening).permute(3, 2, 0, 1))
    model[0].weight.requires_grad = whitening is None
    return model.to(memory_format=torch.channels_last)


def main() -> None:
    import torch
    from tinycnn import speedrun
    from tinycnn.datasets import cifar10
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--widths", default="64,128,128")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--data", default=None, help="an .npz in Keras's layout instead of cifar10")
    args = parser.parse_args()
    if args.data_dir:
        os.environ["TINYCNN_DATA_DIR"] = args.data_dir
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    recipe = speedrun.Recipe(epochs=args.epochs, widths=tuple(int(w) for w in args.widths.split(",")),
                             batch_size=args.batch_size, seed=args.seed)
    start = time.perf_counter()  # end to end, loading included, as tinycnn speedrun
    if args.data:
        with np.load(args.data) as f:
            (x_train, y_train), (x_test, y_test) = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    else:
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    rng = np.random.default_rng(recipe.seed)
    x, xt = speedrun.normalise(x_train), speedrun.normalise(x_test)
    y = torch.from_numpy(np.asarray(y_train).reshape(-1).astype(np.int64))
    labels_test = np.asarray(y_test).reshape(-1)
    x = np.where((rng.random(len(x)) < 0.5)[:, None, None, None], x[:, :, ::-1], x)
    r = recipe.translate
    padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="reflect")
    model = build(recipe, speedrun.whitening_kernel(x[:5000]))

    batch, m = recipe.batch_size, recipe.momentum
    kilostep = 1024 * (1 + 1 / (1 - m))
    lr, wd = recipe.lr / kilostep, recipe.weight_decay * batch / kilostep
    lr_biases = lr * recipe.bias_scaler
    biases = [p for name, p in model.named_parameters() if p.requires_grad and isinstance(
        dict(model.named_modules())[name.rsplit(".", 1)[0]], torch.nn.BatchNorm2d)]
    others = [p for p in model.parameters() if p.requires_grad and all(p is not b for b in biases)]
    optimizer = torch.optim.SGD([dict(params=biases, lr=lr_biases, weight_decay=wd / lr_biases),
                                 dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=m, nesterov=True)
    steps_per_epoch = len(x) // batch
    total = recipe.epochs * steps_per_epoch
    look = speedrun.lookahead(recipe, total)  # its every and decay; applied to the state dict below
    slow = {k: v.clone() for k, v in model.state_dict().items()} if look else None
    step = 0
    warm = max(1, int(total * recipe.warmup))

    def factor(step):
        return float(np.interp(step, [0, warm, max(warm + 1, total)],
                               [recipe.start_factor, 1.0, recipe.end_factor]))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing, reduction="sum")

    def tensor(images):
        return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)  # NHWC memory = channels-last

    for epoch in range(recipe.epochs):
        model[0].bias.requires_grad = epoch < recipe.whiten_bias_epochs
        model.train()
        images = tensor(speedrun.epoch_images(x, padded, epoch, rng, recipe))
        order = torch.randperm(len(x))
        for i in range(steps_per_epoch):
            index = order[i * batch:(i + 1) * batch]
            loss = loss_fn(model(images[index].contiguous(memory_format=torch.channels_last)), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            if look and (step % look.every == 0 or step == total):
                with torch.no_grad():
                    d = look.decay(step / total) if step % look.every == 0 else 1.0
                    for key, value in model.state_dict().items():
                        if value.dtype.is_floating_point:
                            slow[key].lerp_(value, 1 - d)
                            value.copy_(slow[key])
        print(f"epoch {epoch + 1}: loss {loss.item() / len(index):.4f}, {time.perf_counter() - start:.0f} s",
              flush=True)

    model.eval()

    def predict(images):
        with torch.no_grad():
            return np.concatenate([model(tensor(images[i:i + 1000]).contiguous(
                memory_format=torch.channels_last)).numpy() for i in range(0, len(images), 1000)])

    def mirrored(images):
        return 0.5 * predict(images) + 0.5 * predict(images[:, :, ::-1])
    padded_test = np.pad(xt, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    logits = 0.5 * mirrored(xt) + 0.25 * sum(mirrored(padded_test[:, a:a + 32, a:a + 32]) for a in (0, 2))
    accuracy = float(np.mean(logits.argmax(1) == labels_test))
    print(json.dumps({"test_accuracy": accuracy, "seconds": round(time.perf_counter() - start, 2),
                      "epochs": recipe.epochs, "threads": torch.get_num_threads(),
                      "framework": f"torch {torch.__version__}"}))


if __name__ == "__main__":
    main()
