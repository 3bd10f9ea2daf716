"""The switch cap, strict against the reference's quirks, on a model that keeps switching.

Owns: one measurement. The random tiny qwen3_5_moe (`ensure_random_tiny_moe`,
built so that its next-token entropy swings step to step) decodes with
SwiReasoning, window 4, max switch count 2, 512 new tokens, on 10 seeds,
once with the strict variant (the product's default) and once with
`--reference-quirks`. For each run: latent->explicit switches, how often the
termination words were injected, whether the run ended within 32 tokens of
the first termination words, tokens, stop reason. Writes
docs/benchmarks/switch_cap.md.

    python bench/bench_switch_cap.py [--seeds 10] [--max-new-tokens 512]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import DecodeSettings, SwirParams  # noqa: E402
from engine.events import Done, Step  # noqa: E402
from engine.prompt import Turn  # noqa: E402

CAP, WINDOW, BUDGET = 2, 4, 32


def run(backend, termination: tuple[int, ...], variant: str, seed: int, n: int) -> dict:
    settings = DecodeSettings(
        method="swir", max_new_tokens=n, seed=seed,
        swir=SwirParams(window=WINDOW, max_switch_count=CAP, variant=variant, answer_budget=BUDGET),
    )  # fmt: skip
    steps, done = [], None
    for ev in backend.chat([Turn("user", "Tell me about the sea and the sky.")], settings):
        if isinstance(ev, Step):
            steps.append(ev)
        elif isinstance(ev, Done):
            done = ev
    ids = [s.token_id for s in steps]
    starts = [
        i
        for i in range(len(ids))
        if tuple(ids[i : i + len(termination)]) == termination and steps[i].injected
    ]
    tail = (len(steps) - starts[0]) if starts else None
    return {
        "switches": done.summary.to_explicit_switches, "terminations": len(starts), "tail": tail,
        "tokens": len(steps), "stop": done.summary.stop_reason,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--max-new-tokens", type=int, default=512)
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks/switch_cap.md"))
    args = ap.parse_args(argv)
    from engine import tokens
    from engine.backends.local import LocalBackend
    from engine.models.tiny_moe import ensure_random_tiny_moe
    from engine.runtimes.torch_runtime import _load_pretrained

    rt = _load_pretrained("tiny-moe (random)", str(ensure_random_tiny_moe()), None, "cpu")
    backend = LocalBackend(rt)
    termination = tokens.encode(rt.tokenizer, SwirParams().termination_words)
    lines = [
        f"# Switch cap on a model that keeps switching (random tiny qwen3_5_moe, window {WINDOW}, "
        f"cap {CAP}, {args.max_new_tokens} new tokens)", "",
        f"`python bench/bench_switch_cap.py --seeds {args.seeds}`. Target (strict): switches ≤ 2 × cap + 1 "
        f"= {2 * CAP + 1}, and the run ends within {BUDGET} tokens of the termination words.", "",
        "| variant | seed | switches | termination words injected | tokens after them | tokens | stop |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    ok = True
    for variant in ("strict", "reference"):
        for seed in range(args.seeds):
            r = run(backend, termination, variant, seed, args.max_new_tokens)
            tail = "–" if r["tail"] is None else str(r["tail"])
            lines.append(f"| {variant} | {seed} | {r['switches']} | {r['terminations']} | {tail} | "
                         f"{r['tokens']} | {r['stop']} |")  # fmt: skip
            if variant == "strict":
                ok = ok and r["switches"] <= 2 * CAP + 1 and (r["tail"] is None or r["tail"] <= BUDGET)
    lines += ["", f"Strict target met on every seed: **{'yes' if ok else 'no'}**.", ""]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
