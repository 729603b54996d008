"""The image-gap candidates' table (runs/images/NAME/sSEED, lines of results.jsonl): one row per setting,
seeds, top-1 per seed, mean ± std, and the whole-process seconds of a fresh run (walls.jsonl; a run
that read its distilled set from the cache gets the distillation seconds of the run that made it).
    python experiments/results.py experiments/depthwise     # run dirs -> results.jsonl
    python experiments/depthwise/results_table.py [NAME_PREFIX ...]"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from results import read_results  # noqa: E402  (experiments/results.py)

PREFIX = "runs/images/"


def runs() -> list[dict]:
    walls = {(w["name"], w["seed"]): w for w in map(json.loads, (HERE / "walls.jsonl").read_text().splitlines())
             if w.get("rc") == 0}
    out = []
    for line in read_results(HERE):
        if line["name"].startswith(PREFIX):
            name, seed = line["name"][len(PREFIX):].rsplit("/s", 1)
            m, wall = line["metrics"], walls.get((name, int(seed)), {})
            out.append({"name": name, "seed": int(seed), "m": m, "overrides": wall.get("overrides", ""),
                        "wall_s": float(wall["wall_s"]) if wall else m["seconds"]["total"]})
    return out


def distill_key(r: dict) -> tuple:
    return r["m"]["model"], r["seed"], tuple(sorted((k, str(v)) for k, v in r["m"]["settings"].items()
                                                   if k.startswith("distill.")))


def main(prefixes: list[str]) -> None:
    rows = runs()
    made = {distill_key(r): r["m"]["seconds"].get("distill", 0.0) for r in rows if r["m"].get("distill_cache") == "miss"}
    groups = defaultdict(list)
    for r in rows:
        if not prefixes or any(r["name"].startswith(p) for p in prefixes):
            groups[r["name"]].append(r)
    print("| setting | overrides | bits | seeds | top-1 % per seed | mean ± std | seconds (mean) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, rs in sorted(groups.items()):
        rs.sort(key=lambda r: r["seed"])
        top = [100 * r["m"]["quant_top1"] for r in rs]
        spread = f" ± {statistics.stdev(top):.2f}" if len(top) > 1 else ""
        secs = statistics.mean(r["wall_s"] + (made.get(distill_key(r), 0.0) if r["m"].get("distill_cache") == "hit"
                                              else 0.0) for r in rs)
        m = rs[0]["m"]
        print(f"| {name} | `{rs[0]['overrides'] or 'none'}` | W{m['w_bits']}A{m['a_bits']} | "
              f"{','.join(str(r['seed']) for r in rs)} | {' / '.join(f'{t:.2f}' for t in top)} | "
              f"{statistics.mean(top):.2f}{spread} | {secs:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
