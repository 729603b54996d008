"""The GPU summary of experiments/bench/gpu_check.sh: gpu_summary.py CHECK_DIR OUT_JSON.

Reads what the check left in CHECK_DIR (user-*/metrics.json + wall_s, resnet18.json, mobilenetv2.json,
device.txt) and writes OUT_JSON with the keys the speed issue asks for; a piece that is missing is
null there, never a guess."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path


def _json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def user_run(d: Path) -> dict | None:
    m, wall = _json(d / "metrics.json"), d / "wall_s"
    if m is None or not wall.is_file():
        return None
    return {"wall_s": round(float(wall.read_text()), 2), "top1": m["quant_top1"], "fp32_top1": m["fp32_top1"],
            "seconds": m["seconds"], "plan": (m.get("plan") or {}).get("summary")}


def summary(check: Path) -> dict:
    runs = {d.name: user_run(d) for d in sorted(check.glob("user-*")) if d.is_dir()}
    main = runs.get("user-warm") or runs.get("user-cold")
    benches = {name: _json(check / f"{name}.json") for name in ("resnet18", "mobilenetv2", "resnet18-bf16")}
    device = (check / "device.txt").read_text().strip().splitlines() if (check / "device.txt").is_file() else []
    return {
        "device": device[0] if device else None, "versions": device[1] if len(device) > 1 else None,
        "date": dt.date.today().isoformat(),
        "user_model_end_to_end_s": main["wall_s"] if main else None,
        "user_model_top1": main["top1"] if main else None,
        "user_model_runs": runs,
        **{f"{k.replace('-', '_')}_paper_budget_projected_s": (b or {}).get("projected_paper_s")
           for k, b in benches.items()},
        "bench": {k: {key: b.get(key) for key in ("distill_step_s", "distill_floor_s", "recon_step_s",
                                                   "recon_floor_s", "recon_ratio", "peak_memory_mb", "machine")}
                  for k, b in benches.items() if b},
        "command": "experiments/bench/gpu_check.sh",
    }


if __name__ == "__main__":
    out = summary(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k not in ("user_model_runs", "bench")}, indent=1))
