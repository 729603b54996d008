"""python -m genie_exp.report reads a study's results.jsonl (experiments/results.py: one line per run) as
the run dirs it was made from: the same collection, table, plots and page from either."""
import json
import sys
from pathlib import Path

from genie_exp.report import collect_metrics, group_rows, markdown_table
from genie_exp.report.__main__ import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from results import convert, read_results  # noqa: E402


def fake_metrics(seed, top1, **settings):  # the shape of test_report.fake_metrics
    basic = {"model.name": "resnet20", "data.name": "fashion_mnist", "quant.w": 2, "quant.a": 4,
             "distill.name": "genie", "quantizer.name": "genie", "distill.samples": 256, "recon.iters": 500}
    return {"model": "resnet20", "dataset": "fashion_mnist", "w_bits": 2, "a_bits": 4, "calib": "genie",
            "quantizer": "genie", "n_samples": 256, "seed": seed, "fp32_top1": 0.92, "quant_top1": top1,
            "seconds": {"total": 10.0 + seed}, "settings": {**basic, **settings},
            "units": [{"name": "conv1", "kind": "layer", "seconds": 1.0, "loss_start": 0.5, "loss": 0.1}]}


def write_runs(study: Path) -> None:
    """Two seeds of one setting, one with a distillation curve in logs/metrics.csv, one without settings
    (an older run: its settings come from .hydra/config.yaml), and one of another budget."""
    runs = {"runs/a/s0": fake_metrics(0, 0.90), "runs/a/s1": fake_metrics(1, 0.92),
            "runs/b/s0": fake_metrics(0, 0.80, **{"recon.iters": 250})}
    del runs["runs/a/s1"]["settings"]
    for name, m in runs.items():
        d = study / name
        (d / ".hydra").mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps(m))
        (d / ".hydra" / "overrides.yaml").write_text(f"- seed={m['seed']}\n- quant.w=2\n")
    (study / "runs/a/s1/.hydra/config.yaml").write_text(
        "model:\n  name: resnet20\ndata:\n  name: fashion_mnist\nquant:\n  w: 2\n  a: 4\ndistill:\n  name: genie\n"
        "  samples: 256\nquantizer:\n  name: genie\nrecon:\n  iters: 500\n")
    (study / "runs/a/s0/logs").mkdir()
    (study / "runs/a/s0/logs/metrics.csv").write_text(
        "distill/loss,epoch,step\n0.9,0,9\n0.5,0,19\n,0,\n0.8,0,9\n0.4,0,19\n")


def strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "_distill_curve"} for r in rows]


def test_a_results_file_reports_as_its_run_dirs(tmp_path):
    study = tmp_path / "study"
    write_runs(study)
    convert(study)
    lines = read_results(study)
    assert [line["name"] for line in lines] == ["runs/a/s0", "runs/a/s1", "runs/b/s0"]
    assert lines[0]["overrides"] == ["seed=0", "quant.w=2"]
    assert lines[0]["distill_curve"] == [[9, 0.9], [19, 0.5], [9, 0.8], [19, 0.4]]  # two batch groups
    assert "config" in lines[1] and "config" not in lines[0]  # only where metrics.json has no settings
    assert lines[2]["metrics"] == json.loads((study / "runs/b/s0/metrics.json").read_text())

    from_dirs = collect_metrics([study / "runs"])
    from_file = collect_metrics([study / "results.jsonl"])
    assert len(from_dirs) == 3 and strip(from_file) == from_dirs
    assert from_file[1]["_settings"] == from_file[0]["_settings"]  # from the carried config: a repeat of s0
    table = markdown_table(group_rows(from_dirs))
    assert markdown_table(group_rows(from_file)) == table and "0,1" in table  # the two seeds are one row
    assert len(collect_metrics([study])) == 3  # the study dir: its results.jsonl and run dirs, each run once
    assert [r["_path"] for r in collect_metrics([study / "results.jsonl"], only="runs/a/")] == \
        [str(study / "runs/a/s0"), str(study / "runs/a/s1")]

    assert main([str(study / "runs"), "--out", str(tmp_path / "out1")]) == 0
    assert main([str(study / "results.jsonl"), "--out", str(tmp_path / "out2")]) == 0
    for f in ("report.md", "report.png", "report_distill.png", "report.html"):
        assert (tmp_path / "out1" / f).read_bytes() == (tmp_path / "out2" / f).read_bytes(), f

    # new runs: their dirs are merged into the file, the lines of removed dirs stay
    for name in ("runs/a", "runs/b"):
        for p in sorted((study / name).rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
    (study / "runs/c/s0").mkdir(parents=True)
    (study / "runs/c/s0/metrics.json").write_text(json.dumps(fake_metrics(0, 0.7, **{"recon.iters": 100})))
    convert(study)
    assert [line["name"] for line in read_results(study)] == ["runs/a/s0", "runs/a/s1", "runs/b/s0", "runs/c/s0"]
    assert read_results(study)[3]["overrides"] == []
