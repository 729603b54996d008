"""Same config + seed, same machine (CPU): the same metrics, bit for bit. The second run takes its
calibration set from the cache, which must not change the reconstruction's random stream."""
from genie_exp.pipeline import run

from conftest import compose_cfg


def test_two_runs_give_identical_metrics(tmp_path, fmnist_root):
    cfg = compose_cfg(f"data.root={fmnist_root}", "model.pretrained=false", "distill=genie", "distill.samples=16",
                      "distill.batch_size=8", "distill.iters=4", "recon.iters=10", "recon.batch_size=8",
                      "quant.calib_samples=16", "data.eval_samples=64", "seed=5", "progress=false")
    first = run(cfg, tmp_path / "a")
    second = run(cfg, tmp_path / "b")
    assert (first["distill_cache"], second["distill_cache"]) == ("miss", "hit")
    assert first["quant_top1"] == second["quant_top1"] and first["fp32_top1"] == second["fp32_top1"]
    assert [(u["name"], u["loss"]) for u in first["units"]] == [(u["name"], u["loss"]) for u in second["units"]]
    assert not any(u.get("resumed") for u in second["units"])  # a finished run leaves no checkpoint behind
