"""The markdown table of every bench JSON in this folder (or those given):
    python experiments/bench/table.py [FILE.json ...]"""
from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = ("file", "distill step / floor s", "ratio", "recon step / floor s", "ratio", "end to end s",
           "distill / recon / eval s", "distill steps", "recon kernels", "quant top-1 %", "peak MB")


def kernels(r: dict) -> str:
    """compiled (with its compile seconds) or eager; benches before recon.compile existed ran eager"""
    return f"compiled, {r['recon_compile_s']:.1f} s" if r.get("recon_compiled") else "eager"


def row(path: Path) -> str:
    r = json.loads(path.read_text())
    s = r.get("stage_s", {})
    steps = r.get("distill_steps") or [r["distill"]["iters"]] * (r["distill"]["samples"] // r["distill"]["batch_size"])
    cells = (path.name, f"{r['distill_step_s']:.3f} / {r['distill_floor_s']:.3f}", f"{r['distill_ratio']:.2f}",
             f"{1000 * r['recon_step_s']:.2f} / {1000 * r['recon_floor_s']:.2f} ms", f"{r['recon_ratio']:.2f}",
             f"{r['end_to_end_s']:.0f}", f"{s.get('distill', 0):.0f} / {s.get('recon', 0):.0f} / {s.get('eval', 0):.0f}",
             "+".join(map(str, steps)), kernels(r), f"{100 * r['quant_top1']:.2f}", f"{r['peak_memory_mb']:.0f}")
    return "| " + " | ".join(cells) + " |"


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or sorted(Path(__file__).parent.glob("*.json"))
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for f in files:
        print(row(f))


if __name__ == "__main__":
    main(sys.argv[1:])
