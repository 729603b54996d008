"""experiments/results.py --from FOLDER: run dirs committed outside a study's runs/ (and runs copied back as
NAME-metrics.json) become lines named by their path in the study; without it only runs/ is walked."""
import json
import sys
from pathlib import Path

from genie_exp.report import collect_metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from results import convert, main, read_results  # noqa: E402


def metrics(seed, top1, model="resnet20"):
    return {"model": model, "dataset": "fashion_mnist", "w_bits": 4, "a_bits": 4, "calib": "genie",
            "quantizer": "genie", "n_samples": 256, "seed": seed, "fp32_top1": 0.93, "quant_top1": top1}


def write_study(study: Path) -> None:
    for name, m in {"runs/t/a": metrics(0, 0.90), "sweep/s0/genie/0": metrics(0, 0.91),
                    "sweep/s1/genie/0": metrics(1, 0.92)}.items():
        (study / name / ".hydra").mkdir(parents=True)
        (study / name / "metrics.json").write_text(json.dumps(m))
        (study / name / ".hydra" / "overrides.yaml").write_text(f"- seed={m['seed']}\n")
    (study / "gpu").mkdir()
    (study / "gpu" / "resnet18-metrics.json").write_text(json.dumps(metrics(0, 0.89, "resnet18")))
    (study / "gpu" / "resnet18.log").write_text("a log, not a result\n")


def test_only_runs_without_from(tmp_path):
    write_study(tmp_path)
    convert(tmp_path)
    assert [line["name"] for line in read_results(tmp_path)] == ["runs/t/a"]


def test_from_folders_keep_their_names(tmp_path):
    write_study(tmp_path)
    convert(tmp_path)
    before = (tmp_path / "results.jsonl").read_text()
    assert main([str(tmp_path), "--from", "sweep", "--from", "gpu"]) == 0
    lines = read_results(tmp_path)
    assert [line["name"] for line in lines] == ["gpu/resnet18", "runs/t/a", "sweep/s0/genie/0", "sweep/s1/genie/0"]
    assert before.splitlines()[0] in (tmp_path / "results.jsonl").read_text().splitlines()  # kept as it was
    gpu = lines[0]
    assert gpu["metrics"] == json.loads((tmp_path / "gpu" / "resnet18-metrics.json").read_text())
    assert gpu["overrides"] == [] and "distill_curve" not in gpu
    assert lines[3]["overrides"] == ["seed=1"]
    sweep = collect_metrics([tmp_path / "results.jsonl"], only="sweep/")
    assert sorted(r["quant_top1"] for r in sweep) == [0.91, 0.92]


def test_bad_arguments(tmp_path):
    assert main(["--from", "sweep"]) == 2  # no study
    assert main([str(tmp_path), "--other"]) == 2
    assert main([str(tmp_path), "--from"]) == 2  # --from without its folder
