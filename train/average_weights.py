"""Average the weights of checkpoints of one model (a "soup"): every tensor of every
`*.safetensors` file the folders share, weighted, written to a new folder with the other
files copied from the last folder given.

The checkpoints must be continuations of one another (or of one starting point), so that they
lie in one basin of the loss, where an average of their weights is a model of its own and often
a steadier one than any of them (checkpoint averaging; Wortsman et al., "Model soups", 2022).
For LoRA adapters continued from one another the `A` and `B` matrices are averaged each, as
any other weights.

    python -m train.average_weights --out <folder> <folder v8> <folder v9> <folder v10>

`--only PREFIX` averages only the tensors whose names start with the prefix and keeps every
other tensor of the last folder as it is: one part of a model (a vision tower,
`model.visual.`) averaged over checkpoints while the rest stays the last checkpoint's.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def average(
    folders: list[Path], weights: list[float] | None = None, only: str | None = None
) -> dict[str, dict[str, torch.Tensor]]:
    """{file name: {tensor name: weighted mean}} over the `*.safetensors` files of `folders`;
    the files and tensor names must be the same in every folder, the shapes too. With `only`,
    a tensor whose name does not start with it is the last folder's, unchanged."""
    if len(folders) < 2:
        raise ValueError("give two folders or more")
    weights = [1.0] * len(folders) if weights is None else weights
    if len(weights) != len(folders) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError("one non-negative weight per folder, not all zero")
    total = sum(weights)
    names = sorted(p.name for p in folders[0].glob("*.safetensors"))
    if not names:
        raise ValueError(f"{folders[0]} holds no .safetensors file")
    for folder in folders[1:]:
        if sorted(p.name for p in folder.glob("*.safetensors")) != names:
            raise ValueError(f"{folder} holds other .safetensors files than {folders[0]}: {', '.join(names)}")
    out: dict[str, dict[str, torch.Tensor]] = {}
    averaged = 0
    for name in names:
        states = [load_file(folder / name) for folder in folders]
        keys = set(states[0])
        for folder, state in zip(folders[1:], states[1:], strict=True):
            if set(state) != keys:
                raise ValueError(f"{folder / name} holds other tensors than {folders[0] / name}")
        mixed = {}
        for key in sorted(keys):
            first = states[0][key]
            if any(s[key].shape != first.shape for s in states):
                raise ValueError(f"{name}: {key} has another shape in one of the folders")
            if only is not None and not key.startswith(only):
                mixed[key] = states[-1][key]
                continue
            averaged += 1
            if not first.is_floating_point():  # counters, index tables: must agree, kept as they are
                if any(not torch.equal(s[key], first) for s in states):
                    raise ValueError(f"{name}: {key} is not floating point and differs between folders")
                mixed[key] = first
                continue
            acc = sum(w / total * s[key].double() for w, s in zip(weights, states, strict=True))
            mixed[key] = acc.to(first.dtype).contiguous()
        out[name] = mixed
    if only is not None and not averaged:
        raise ValueError(f"no tensor name starts with {only!r}")
    return out


def write(
    folders: list[Path], out: Path, weights: list[float] | None = None, only: str | None = None
) -> None:
    """The averaged weights in `out`, beside copies of the last folder's other files."""
    mixed = average(folders, weights, only)
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != folders[-1].resolve():  # averaging into the last folder keeps its files
        for path in folders[-1].iterdir():
            if path.is_file() and path.suffix != ".safetensors":
                shutil.copy2(path, out / path.name)
    for name, state in mixed.items():
        save_file(state, out / name, metadata={"format": "pt"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.average_weights", description=__doc__.split("\n")[0])
    ap.add_argument(
        "folders", type=Path, nargs="+", help="checkpoint folders; the last one's other files are copied"
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--weights", help="comma list, one per folder (default: equal)")
    ap.add_argument(
        "--only", metavar="PREFIX", help="average only tensors named PREFIX…; the rest are the last folder's"
    )
    args = ap.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")] if args.weights else None
    try:
        write(args.folders, args.out, weights, args.only)
    except ValueError as e:  # checkpoints that do not fit together, a prefix matching nothing
        ap.error(str(e))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
