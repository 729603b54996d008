"""python -m genie_exp.report: report.md, report.png and a self-contained report.html from run dirs;
--wandb rows from W&B run summaries; one-line errors."""
import json
from types import SimpleNamespace

import pytest

from genie_exp.report import collect_metrics, group_rows
from genie_exp.report.__main__ import main
from genie_exp.report.plot import series_label
from genie_exp.report.wandb_source import row_from_run


def fake_metrics(model="resnet20", w=4, a=4, calib="genie", quantizer="genie", seed=0, top1=0.8):
    return {"model": model, "dataset": "fashion_mnist", "w_bits": w, "a_bits": a, "calib": calib,
            "quantizer": quantizer, "n_samples": 256, "seed": seed, "fp32_top1": 0.92, "quant_top1": top1,
            "seconds": {"total": 10.0}}


@pytest.fixture
def runs(tmp_path):
    i = 0
    for model in ("resnet20", "mobilenetv2"):
        for calib, quantizer in (("genie", "genie"), ("noise", "rtn")):
            for w in (2, 3, 4):
                for seed in (0, 1):
                    d = tmp_path / "sweep" / str(i)
                    d.mkdir(parents=True)
                    top1 = 0.5 + 0.1 * w - (0.2 if quantizer == "rtn" else 0) + 0.01 * seed
                    (d / "metrics.json").write_text(json.dumps(fake_metrics(model, w, 4, calib, quantizer, seed, top1)))
                    i += 1
    failed = tmp_path / "sweep" / str(i)
    failed.mkdir()
    (failed / "failed.json").write_text(json.dumps({"error": "model.weights: file not found: x.pt <b>"}))
    return tmp_path / "sweep"


def test_report_writes_md_png_and_one_self_contained_html(runs, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert md.count("\n| ") == 12 and "1 failed run(s)" in md  # 2 models x 2 methods x 3 bit-widths
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    html = (out / "report.html").read_text()
    assert html.count("<tr>") == 13 and "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html and "<link" not in html  # nothing to fetch
    assert "x.pt &lt;b&gt;" in html  # escaped
    assert "-> " in capsys.readouterr().out
    assert not (runs / "report.md").exists()


def test_report_defaults_to_the_first_dir(runs):
    assert main([str(runs)]) == 0
    assert all((runs / f"report.{ext}").is_file() for ext in ("md", "png", "html"))


def test_series_labels_split_method_and_activation_bits():
    rows = [fake_metrics(a=4), fake_metrics(a=8, calib="noise", quantizer="rtn")]
    assert series_label(rows[0], rows) == "resnet20 genie+genie A4"
    assert series_label(rows[1], rows) == "resnet20 noise+rtn A8"


def test_no_runs_and_offline_wandb_are_one_line(tmp_path, monkeypatch, capsys):
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().startswith("error: no metrics.json")
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert main(["--wandb", "me/genie-exp", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --wandb") and "offline" in err[0]
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert main(["--wandb", "me/genie-exp"]) == 2
    assert "credentials" in capsys.readouterr().err
    assert main(["--wandb", "genie-exp"]) == 2
    assert "ENTITY/PROJECT" in capsys.readouterr().err


def test_wandb_run_summaries_become_rows(runs):
    ours = SimpleNamespace(summary={"metrics": fake_metrics(w=2, top1=0.7), "_runtime": 12.0}, url="https://x/run")
    other = SimpleNamespace(summary={"loss": 1.0}, url="https://x/other")
    row = row_from_run(ours)
    assert row["w_bits"] == 2 and row["_path"] == "https://x/run" and row_from_run(other) is None
    grouped = group_rows(collect_metrics([runs]) + [row])
    assert any(g["w_bits"] == 2 and g["seeds"] == [0, 0, 1] for g in grouped)
