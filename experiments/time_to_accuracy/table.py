"""The time-to-accuracy table (and plot.py's data) from results.jsonl (one line per run dir
runs/NAME/sSEED, `python experiments/results.py experiments/time_to_accuracy`) and walls.jsonl.

Every run's time is its whole process, timed from outside (walls.jsonl), with the distillation a
cache hit skipped added back: the distillation seconds of the run that made that set (same model,
distillation settings and seed; its metrics.json says distill_cache "miss"). So each row's seconds are
what one fresh run of that command takes in a paired one-thread slot of the 2-core machine.

    python experiments/time_to_accuracy/table.py              # per setting: top-1 mean ± std, seconds
    python experiments/time_to_accuracy/table.py --headline   # the README's results table (new default)
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from results import read_results  # noqa: E402  (experiments/results.py)

DISTILL_KEYS = ("model.name", "model.target", "distill.")


def _distill_key(m: dict) -> str:
    s = m["settings"]
    keys = {k: v for k, v in s.items() if k.startswith(DISTILL_KEYS) and k != "distill.cache"}
    return json.dumps([keys, m["seed"], s.get("trainer.precision")], sort_keys=True)


def walls() -> dict:
    """(name, seed) -> whole-process seconds of its last run that exited 0"""
    path = HERE / "walls.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return {(w["name"], int(w["seed"])): float(w["wall_s"]) for w in lines if w["rc"] == 0}


def load() -> list[dict]:
    wall = walls()
    runs = []
    for line in read_results(HERE):
        parts = line["name"].split("/")  # runs/NAME/sSEED
        if len(parts) != 3 or parts[0] != "runs" or not parts[2].startswith("s"):
            continue
        name, seed, m = parts[1], int(parts[2][1:]), line["metrics"]
        runs.append({"name": name, "seed": seed, "metrics": m, "wall": wall.get((name, seed))})
    made = {}  # distillation seconds of the run that made each set
    for r in runs:
        if r["metrics"].get("distill_cache") in ("miss", "off"):
            key = _distill_key(r["metrics"])  # the longest: a run that found some batches done took less
            made[key] = max(made.get(key, 0.0), r["metrics"]["seconds"].get("distill", 0.0))
    for r in runs:
        m = r["metrics"]
        hit = m.get("distill_cache") == "hit"  # the set's making added back in place of reading it
        swap = made.get(_distill_key(m), float("nan")) - m["seconds"].get("distill", 0.0) if hit else 0.0
        r["seconds"] = None if r["wall"] is None else r["wall"] + swap
    return runs


def paper_rows() -> list[dict]:
    """The paper's code's runs (paper_code.jsonl, written by its driver through run.sh ... PAPER)."""
    path = HERE / "paper_code.jsonl"
    wall = {seed: s for (name, seed), s in walls().items() if name == "treppe_w2_paper"}
    runs = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    runs = [r for r in runs if r["seed"] in wall and r.get("distill_iters", 0) > 10]
    if not runs:
        return []
    top1 = [100 * r["top1"] for r in runs]
    return [{"name": "treppe_w2_paper", "seeds": [r["seed"] for r in runs], "top1": top1,
             "mean": statistics.mean(top1), "std": statistics.stdev(top1) if len(top1) > 1 else 0.0,
             "seconds": statistics.mean(wall[r["seed"]] for r in runs), "compile_s": 0.0, "settings": {},
             "model": "user_nets.Treppe (the paper's code)", "w_bits": runs[0]["w"], "a_bits": runs[0]["a"]}]


def rows() -> list[dict]:
    groups = defaultdict(list)
    for r in load():
        groups[r["name"]].append(r)
    out = paper_rows()
    for name, rs in sorted(groups.items()):
        top1 = [100 * r["metrics"]["quant_top1"] for r in rs]
        secs = [r["seconds"] for r in rs if r["seconds"] is not None]
        compile_s = [r["metrics"]["seconds"].get("recon_compile", 0.0) for r in rs]
        out.append({"name": name, "seeds": sorted(r["seed"] for r in rs), "top1": top1,
                    "mean": statistics.mean(top1), "std": statistics.stdev(top1) if len(top1) > 1 else 0.0,
                    "seconds": statistics.mean(secs) if secs else float("nan"),
                    "compile_s": statistics.mean(compile_s), "settings": rs[0]["metrics"]["settings"],
                    "model": rs[0]["metrics"]["settings"].get("model.target") or rs[0]["metrics"]["model"],
                    "w_bits": rs[0]["metrics"]["w_bits"], "a_bits": rs[0]["metrics"]["a_bits"],
                    "fp32": 100 * rs[0]["metrics"]["fp32_top1"]})
    return out


DEFAULT = "d100_r1000_lr3e-3"  # the default budget's rows
HEADLINE = (("resnet20", "resnet20"), ("mobilenetv2", "mbv2"))
# the default distillation weighs the first BN layer x10 (queue_headline_fb10.txt); real images distil nothing
COLUMNS = (("W4A4 Genie (zero-shot)", "w4", "_fb10"), ("W2A4 Genie", "w2", "_fb10"),
           ("W2A4 AdaRound+QDrop", "w2", "_fb10_adaround"), ("W2A4 RTN", "w2", "_fb10_rtn"),
           ("W2A4 Genie on real images", "w2", "_real"))


def headline() -> None:
    by_name = {r["name"]: r for r in rows()}
    print("| model (FP32) | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("| --- |" + " --- |" * len(COLUMNS))
    for model, short in HEADLINE:
        fp32 = next((r["fp32"] for n, r in by_name.items() if n.startswith(short + "_")), float("nan"))
        cells = []
        for _, bits, suffix in COLUMNS:
            r = by_name.get(f"{short}_{bits}_{DEFAULT}{suffix}")
            if r is None:
                cells.append("not measured")
            elif len(r["top1"]) == 1:
                cells.append(f"{r['mean']:.2f} (seed {r['seeds'][0]})")
            else:
                cells.append(f"{r['mean']:.2f} ± {r['std']:.2f} (seeds {','.join(map(str, r['seeds']))})")
        print(f"| {model} ({fp32:.2f}) | " + " | ".join(cells) + " |")


def main() -> None:
    if "--headline" in sys.argv:
        return headline()
    print("| setting | model | bits | seeds | top-1 % (per seed) | mean ± std | seconds (mean) | of which compile |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows():
        per = " / ".join(f"{t:.2f}" for t in r["top1"])
        print(f"| {r['name']} | {str(r['model']).split('.')[-1]} | W{r['w_bits']}A{r['a_bits']} | "
              f"{','.join(map(str, r['seeds']))} | {per} | {r['mean']:.2f} ± {r['std']:.2f} | {r['seconds']:.0f} | "
              f"{r['compile_s']:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
