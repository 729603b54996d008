"""python -m genie_exp.report: report.md, report.png and a self-contained report.html from run dirs;
runs grouped by every setting that decides a result; --wandb rows from W&B run summaries; one-line
errors; and what a run logs when its output is not a terminal."""
import json
from types import SimpleNamespace

import pytest

from genie_exp.report import collect_metrics, group_rows, markdown_table
from genie_exp.report.__main__ import main
from genie_exp.report.plot import series_label
from genie_exp.report.wandb_source import row_from_run


def fake_metrics(model="resnet20", w=4, a=4, calib="genie", quantizer="genie", seed=0, top1=0.8, **settings):
    basic = {"model.name": model, "data.name": "fashion_mnist", "quant.w": w, "quant.a": a, "distill.name": calib,
             "quantizer.name": quantizer, "distill.samples": 256, "recon.iters": 500}
    return {"model": model, "dataset": "fashion_mnist", "w_bits": w, "a_bits": a, "calib": calib,
            "quantizer": quantizer, "n_samples": 256, "seed": seed, "fp32_top1": 0.92, "quant_top1": top1,
            "seconds": {"total": 10.0}, "settings": {**basic, **settings},
            "units": [{"name": "conv1", "kind": "layer", "seconds": 1.0, "loss_start": 0.5, "loss": 0.1}]}


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
    table = html.split("<table")[1]
    assert table.count("<tr>") == 13 and "data:image/png;base64," in html  # header + 12 configurations
    assert "drop from FP32" in html and "sortable" in html
    assert '<a href="../sweep/3/metrics.json">sweep/3</a>' in html  # a link to each run, named by its path
    assert "http://" not in html and "https://" not in html and "<link" not in html  # nothing to fetch
    assert "x.pt &lt;b&gt;" in html  # escaped
    assert "-> " in capsys.readouterr().out
    assert not (runs / "report.md").exists()


def test_report_defaults_to_the_first_dir(runs):
    assert main([str(runs)]) == 0
    assert all((runs / f"report.{ext}").is_file() for ext in ("md", "png", "html"))


def _write(root, i, metrics):
    d = root / str(i)
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps(metrics))


def test_runs_that_differ_in_any_setting_are_separate_rows(tmp_path):
    _write(tmp_path, 0, fake_metrics(seed=0, top1=0.90))
    _write(tmp_path, 1, fake_metrics(seed=1, top1=0.92))
    _write(tmp_path, 2, fake_metrics(seed=0, top1=0.80, **{"recon.iters": 250}))
    grouped = group_rows(collect_metrics([tmp_path]))
    assert len(grouped) == 2  # two budgets, not one row with three "seeds"
    by_iters = {g["settings"]["recon.iters"]: g for g in grouped}
    assert by_iters[500]["seeds"] == [0, 1] and by_iters[250]["seeds"] == [0]
    assert abs(by_iters[500]["quant_top1"] - 0.91) < 1e-9
    md = markdown_table(grouped)
    assert "recon.iters" in md.splitlines()[0] and "| 250 |" in md


def test_series_labels_split_method_and_activation_bits():
    rows = group_rows([{**fake_metrics(a=4), "_path": "a", "_settings": fake_metrics(a=4)["settings"]},
                       {**fake_metrics(a=8, calib="noise", quantizer="rtn"), "_path": "b",
                        "_settings": fake_metrics(a=8, calib="noise", quantizer="rtn")["settings"]}])
    assert sorted(series_label(r) for r in rows) == ["resnet20 genie+genie A4", "resnet20 noise+rtn A8"]


def test_a_series_line_never_crosses_a_bit_width_it_lacks():
    from genie_exp.report.plot import _segments

    runs = [{"w_bits": w} for w in (2, 4, 5)]
    # W3 ran for another setting: no line from W2 to W4; W4 -> W5 are neighbours
    assert [[r["w_bits"] for r in s] for s in _segments(runs, [2, 3, 4, 5])] == [[2], [4, 5]]
    assert [[r["w_bits"] for r in s] for s in _segments(runs, [2, 4, 5])] == [[2, 4, 5]]


def test_odd_metrics_files_do_not_break_the_report(tmp_path):
    _write(tmp_path, 0, fake_metrics(model="res$net$_{x"))  # a name that matplotlib would read as maths
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "metrics.json").write_text("[1, 2, 3]")  # a list
    no_top1 = fake_metrics()
    del no_top1["quant_top1"]
    _write(tmp_path, 2, no_top1)
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "report.md").read_text().splitlines()
    assert len(md) == 3 and md[2].startswith("| res$net$_{x |")  # the one readable run


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


def test_a_non_terminal_log_has_plain_progress_lines_and_cli_log_holds_them(tmp_path, fmnist_root):
    from conftest import run_cli

    run = tmp_path / "run"
    r = run_cli(f"data.root={fmnist_root}", "distill.samples=16", "distill.batch_size=8", "distill.iters=20",
                "recon.iters=10", "recon.batch_size=8", "quant.calib_samples=16", "data.eval_samples=32",
                "model.pretrained=false", f"hydra.run.dir={run}", env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "\r" not in r.stderr and len(r.stderr) < 8000
    lines = [l for l in r.stderr.splitlines() if l.startswith("distill genie batch 1/2")]
    assert lines[-1].endswith("100% (20/20)") and len(lines) == len(set(lines)) <= 11  # a line per tenth, once
    log = (run / "cli.log").read_text()
    assert "reconstruction plan: " in log and "quant top-1" in log and "recon conv1: 100%" in log


def test_a_size_panel_where_a_models_runs_differ_in_weight_size(tmp_path):
    from genie_exp.report.size import weight_mb

    def sized(w_mid, top1, seed=0, mixed=None):
        m = fake_metrics("mobilenetv2", 2, 4, seed=seed, top1=top1,
                         **({"quant.budget.weight_bits_avg": mixed} if mixed else {}))
        m["layer_bits"] = {"stem": {"w": 8, "a": None, "weights": 1000}, "mid": {"w": w_mid, "a": 4, "weights": 4000}}
        if mixed:
            m["mixed_precision"] = {"weight_bits_avg": mixed, "achieved": mixed, "bits": {"mid": w_mid}}
        return m

    _write(tmp_path / "same", 0, sized(2, 0.8))
    _write(tmp_path / "same", 1, sized(2, 0.82, seed=1))
    assert main([str(tmp_path / "same")]) == 0
    assert not (tmp_path / "same" / "report_size.png").exists()  # one size: no panel
    _write(tmp_path / "same", 2, sized(3, 0.86, mixed=3.0))
    assert weight_mb(sized(3, 0.86)) == (8 * 1000 + 3 * 4000) / 8e6
    assert main([str(tmp_path / "same")]) == 0
    png = (tmp_path / "same" / "report_size.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "Top-1 against weight size" in (tmp_path / "same" / "report.html").read_text()
