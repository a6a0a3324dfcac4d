"""Train the learned lesion map (a small U-Net) on simulated studies and export it to ONNX.

One command, reproducible (seeded data, seeded weights, single-threaded data generation per
process), on the CPU; needs the training extra (``pip install -e ".[train]"``, torch 2.13.0):

    .venv/bin/python training/lesion_net.py --cases 2400 --steps 3000 \
        --out src/mibgscore/lesions/models/lesion_net.onnx

Studies come from ``mibgscore.simulate`` (seeds 40,000,000 and up, never used by the
benchmarks), a quarter of each disease category, and with ``--phantom NAME=N`` from the
independent phantoms too (phantom2 from seed 42,000,000, phantom3 from 43,000,000). A network
reported on a phantom is never trained on it (leave one phantom out); ``--init`` fine-tunes an
exported network (its batch norms fused: they stay frozen). Inputs and the grid
are those of inference (``mibgscore.lesions.learned.net_grid`` / ``net_input``); targets are the
simulator's diffuse-involvement mask, a Gaussian per focal lesion and the bone mask.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SEED0 = 40_000_000
CATEGORIES = ("normal", "limited", "moderate", "extensive")
CROP = (256, 128)


def _study(source: str, seed: int):
    """(scan, bone mask, diffuse mask, focal lesions [(row, col, size_mm)]) in the scan's frame."""
    if source == "sim":
        from mibgscore.simulate import simulate_study

        st = simulate_study(seed, category=CATEGORIES[seed % 4])
        t = st.truth
        bone = t.bone_labels > 0
        diffuse = t.diffuse_mask if t.diffuse_mask is not None else np.zeros_like(bone)
        foci = [(x.row, x.col, float(x.size_mm or 8.0)) for x in t.lesions if x.kind == "focal"]
        return st.scan, bone, diffuse, foci
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    case = __import__(source).generate_case(seed)
    bone = case.bone_labels > 0
    diffuse = getattr(case, "diffuse_mask", None)
    diffuse = np.zeros_like(bone) if diffuse is None else diffuse
    foci = [(x["row"], x["col"], float(x.get("diameter_mm") or 8.0))
            for x in case.truth["lesions"] if x.get("kind", "focal") == "focal"]
    return case.scan, bone, diffuse, foci


def make_case(item: tuple[str, int], cache: str) -> str:
    """Make one study of ``item = (source, seed)`` and store its network input and targets
    (npz); returns the path. Sources: ``sim`` (``mibgscore.simulate``) or a phantom package
    of benchmarks/ (``phantom2``, ``phantom3``)."""
    source, seed = item
    path = Path(cache) / (f"case_{seed}.npz" if source == "sim" else f"{source}_{seed}.npz")
    if path.exists():
        return str(path)
    from mibgscore.anatomy.body import find_body
    from mibgscore.lesions.learned import net_grid, net_input, resample

    rng = np.random.default_rng([seed, 7])
    scan, bone, diffuse, foci = _study(source, seed)
    if rng.random() < 0.04:  # some single-view scans
        from dataclasses import replace

        scan = replace(scan, posterior=None)
    body = find_body(scan)
    grid = net_grid(body.mask, jitter=float(rng.uniform(0.9, 1.1)))
    x = net_input(body, grid)
    if body.flipped_rows:
        bone, diffuse = bone[::-1], diffuse[::-1]
    y = np.zeros((3, *grid.shape), np.float32)
    y[0] = resample(diffuse.astype(np.float32), grid)
    y[2] = resample(bone.astype(np.float32), grid)
    net_px = float(np.mean(scan.spacing_mm)) / grid.zoom
    ii, jj = np.mgrid[: grid.shape[0], : grid.shape[1]]
    rows = body.shape[0]
    for row, col, size_mm in foci:
        r = rows - 1 - row if body.flipped_rows else row
        i, j = grid.to_net(r, col)
        sigma = max(1.2, 0.3 * size_mm / net_px)
        y[1] = np.maximum(y[1], np.exp(-((ii - i) ** 2 + (jj - j) ** 2) / (2 * sigma * sigma)))
    np.savez_compressed(path, x=x.astype(np.float16), y=(y * 255).round().astype(np.uint8))
    return str(path)


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


SOURCE_SEED0 = {"sim": SEED0, "phantom2": 42_000_000, "phantom3": 43_000_000}
"""First seed of each source's training studies (never used by the benchmarks)."""


def build(sources: dict[str, int], cache: Path, workers: int) -> list[str]:
    """Make (or find in ``cache``) ``sources[name]`` studies of each source."""
    cache.mkdir(parents=True, exist_ok=True)
    items = [(name, SOURCE_SEED0[name] + i) for name, n in sources.items() for i in range(n)]
    t0 = time.time()
    with ProcessPoolExecutor(workers, initializer=_init_worker) as pool:
        paths = []
        for k, p in enumerate(pool.map(make_case, items, [str(cache)] * len(items),
                                       chunksize=8)):
            paths.append(p)
            if (k + 1) % 200 == 0:
                print(f"  {k + 1}/{len(items)} studies, {time.time() - t0:.0f} s", flush=True)
    return paths


def model():
    import torch
    from torch import nn

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        """Four-level U-Net, 8-16-32-48-64 channels, three sigmoid outputs (logits)."""

        def __init__(self, cin: int = 3, cout: int = 3, w: tuple = (8, 16, 32, 48, 64)):
            super().__init__()
            self.down = nn.ModuleList()
            c = cin
            for k in w:
                self.down.append(block(c, k))
                c = k
            self.up = nn.ModuleList()
            self.merge = nn.ModuleList()
            for k in reversed(w[:-1]):
                self.up.append(nn.ConvTranspose2d(c, k, 2, stride=2))
                self.merge.append(block(2 * k, k))
                c = k
            self.head = nn.Conv2d(c, cout, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            skips = []
            for i, d in enumerate(self.down):
                x = d(x)
                if i < len(self.down) - 1:
                    skips.append(x)
                    x = self.pool(x)
            for u, m in zip(self.up, self.merge, strict=True):
                x = u(x)
                x = m(torch.cat([x, skips.pop()], dim=1))
            return self.head(x)

    return UNet()


def _load(paths: list[str]):
    xs, ys = [], []
    for p in paths:
        with np.load(p) as z:
            xs.append(z["x"])
            ys.append(z["y"])
    return xs, ys


def _batch(xs, ys, idx, rng, augment: bool):
    h, w = CROP
    bx = np.zeros((len(idx), 3, h, w), np.float32)
    by = np.zeros((len(idx), 3, h, w), np.float32)
    for n, k in enumerate(idx):
        x, y = xs[k].astype(np.float32), ys[k].astype(np.float32) / 255.0
        H, W = x.shape[1:]
        # crops favour bone with disease half of the time
        if rng.random() < 0.5 and (y[0].max() > 0.5 or y[1].max() > 0.5):
            ii, jj = np.nonzero((y[0] > 0.5) | (y[1] > 0.5))
            q = int(rng.integers(ii.size))
            r0 = int(np.clip(ii[q] - rng.integers(h), 0, max(H - h, 0)))
            c0 = int(np.clip(jj[q] - rng.integers(w), 0, max(W - w, 0)))
        else:
            r0 = int(rng.integers(max(H - h, 0) + 1))
            c0 = int(rng.integers(max(W - w, 0) + 1))
        cx, cy = x[:, r0: r0 + h, c0: c0 + w], y[:, r0: r0 + h, c0: c0 + w]
        if augment:
            from scipy import ndimage as ndi

            # contrast (a shared and a per-view gain on the log counts) and resolution
            g = float(rng.uniform(0.85, 1.15))
            cx = cx.copy()
            s = float(rng.uniform(0.0, 0.8))
            for c in (0, 1):
                if s > 0.2:
                    cx[c] = ndi.gaussian_filter(cx[c], s)
                cx[c] *= g * float(rng.uniform(0.93, 1.07))
        bx[n, :, : cx.shape[1], : cx.shape[2]] = cx
        by[n, :, : cy.shape[1], : cy.shape[2]] = cy
    return bx, by


def _loss(logits, y):
    import torch
    import torch.nn.functional as F

    w = torch.ones_like(y)
    w[:, 0] = 1.0 + 4.0 * y[:, 0]
    w[:, 1] = 1.0 + 15.0 * y[:, 1]
    per = F.binary_cross_entropy_with_logits(logits, y, weight=w, reduction="none")
    return per[:, 0].mean() + 2.0 * per[:, 1].mean() + 0.5 * per[:, 2].mean()


def load_onnx_weights(net, path: Path) -> None:
    """Start ``net`` from an exported ONNX model of the same architecture.

    The export fused each batch norm into its convolution: the convolutions take the fused
    weights and the batch norms start as the identity, their statistics frozen
    (:func:`freeze_batch_norm`), so that the network computes what the ONNX model does.
    """
    import onnx
    import torch
    from onnx import numpy_helper
    from torch import nn

    graph = onnx.load(str(path)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    onnx_convs = [n for n in graph.node if n.op_type == "Conv"]
    convs = [m for blk in net.down for m in blk if isinstance(m, nn.Conv2d)]
    convs += [m for blk in net.merge for m in blk if isinstance(m, nn.Conv2d)]
    convs.append(net.head)
    if len(convs) != len(onnx_convs):
        sys.exit(f"{path}: {len(onnx_convs)} convolutions, the network has {len(convs)}")
    with torch.no_grad():
        for conv, node in zip(convs, onnx_convs, strict=True):
            conv.weight.copy_(torch.from_numpy(init[node.input[1]].copy()))
            conv.bias.copy_(torch.from_numpy(init[node.input[2]].copy()))
        for k, up in enumerate(net.up):
            up.weight.copy_(torch.from_numpy(init[f"up.{k}.weight"].copy()))
            up.bias.copy_(torch.from_numpy(init[f"up.{k}.bias"].copy()))
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()  # identity: weight 1, bias 0, mean 0, var 1


def freeze_batch_norm(net) -> None:
    """Batch norms use their stored statistics (fine-tuning from fused weights)."""
    from torch import nn

    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


def train(paths: list[str], steps: int, batch: int, seed: int, log: list,
          init: Path | None = None, lr: float | None = None) -> object:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = np.random.default_rng(seed)
    # validation studies spread over every source (paths are grouped by source)
    n_val = max(8, len(paths) // 20)
    order = np.random.default_rng(seed + 1).permutation(len(paths))
    paths = [paths[k] for k in order]
    xs, ys = _load(paths)
    train_idx = np.arange(n_val, len(paths))
    net = model()
    if init is not None:
        load_onnx_weights(net, init)
        lr = lr if lr is not None else 5e-4
    lr = 3e-3 if lr is None else lr
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.1)
    vx, vy = _batch(xs, ys, np.arange(n_val), np.random.default_rng(1), augment=False)
    vx, vy = torch.from_numpy(vx), torch.from_numpy(vy)
    t0 = time.time()
    for step in range(1, steps + 1):
        net.train()
        if init is not None:
            freeze_batch_norm(net)
        bx, by = _batch(xs, ys, rng.choice(train_idx, batch), rng, augment=True)
        loss = _loss(net(torch.from_numpy(bx)), torch.from_numpy(by))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            net.eval()
            with torch.no_grad():
                vl = float(_loss(net(vx), vy))
            log.append({"step": step, "train_loss": round(float(loss.detach()), 5),
                        "val_loss": round(vl, 5), "seconds": round(time.time() - t0, 1)})
            print(f"  step {step}: train {float(loss.detach()):.4f}  val {vl:.4f}  "
                  f"({time.time() - t0:.0f} s)", flush=True)
    return net


def export(net, out: Path) -> None:
    import torch

    net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, 416, 160)
    torch.onnx.export(net, dummy, str(out), input_names=["views"], output_names=["logits"],
                      dynamic_axes={"views": {0: "batch", 2: "rows", 3: "cols"},
                                    "logits": {0: "batch", 2: "rows", 3: "cols"}},
                      opset_version=17, dynamo=False)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 416, 160), dtype=np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    got = sess.run(None, {"views": x})[0]
    err = float(np.abs(ref - got).max())
    if err > 1e-3:
        sys.exit(f"ONNX export differs from torch by {err}")
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB), max |torch - onnx| {err:.1e}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=2400, help="simulated studies")
    p.add_argument("--phantom", action="append", default=[], metavar="NAME=N",
                   help="also N studies of benchmarks/NAME (phantom2, phantom3); repeatable")
    p.add_argument("--init", type=Path, default=None,
                   help="start from these ONNX weights (fine-tuning) instead of random ones")
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate (3e-3; 5e-4 when fine-tuning)")
    p.add_argument("--steps", type=int, default=3000, help="optimiser steps")
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--seed", type=int, default=0, help="weights and batches")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cache", type=Path, default=Path("training/cache"))
    p.add_argument("--out", type=Path,
                   default=Path("src/mibgscore/lesions/models/lesion_net.onnx"))
    p.add_argument("--model-version", default="4",
                   help="version written in the training card (score JSON model.version)")
    a = p.parse_args()
    sources = {"sim": a.cases, **{k: int(v) for k, v in (x.split("=") for x in a.phantom)}}
    print(f"making {sources} studies into {a.cache} ...", flush=True)
    paths = build(sources, a.cache, a.workers)
    log: list = []
    print(f"training {a.steps} steps ...", flush=True)
    net = train(paths, a.steps, a.batch, a.seed, log, init=a.init, lr=a.lr)
    export(net, a.out)
    card = {"version": a.model_version,
            "command": " ".join(["training/lesion_net.py", *sys.argv[1:]]),
            "cases": a.cases, "sources": sources, "init": None if a.init is None else a.init.name,
            "steps": a.steps, "batch": a.batch, "seed": a.seed,
            "crop": CROP, "parameters": int(sum(math.prod(t.shape)
                                                for t in net.state_dict().values())),
            "log": log}
    a.out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")


if __name__ == "__main__":
    main()
