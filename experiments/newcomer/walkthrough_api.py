"""The Python half of the walk-through (walkthrough.sh): for each net, distil with the settings the
CLI run used (a cache hit: the CLI distilled this set), quantize into a run dir with test images,
export the API-saved model and verify it with onnxruntime.

    python experiments/newcomer/walkthrough_api.py OUT WEIGHTS"""
import json
import sys
import time
from pathlib import Path

import torch

import genie_exp
from genie_exp.config import DataConfig
from genie_exp.data import build_data
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "modern_blocks"))
import user_nets  # noqa: E402

out, weights = Path(sys.argv[1]), Path(sys.argv[2])
data = build_data(OmegaConf.structured(DataConfig()))
x, y = map(torch.cat, zip(*data.test_loader(500, 1000)))
for cls, file in ((user_nets.GateNet, "gatenet.pt"), (user_nets.ShuffleNetish, "shufflenetish.pt")):
    model = cls()
    model.load_state_dict(torch.load(weights / file)["state_dict"])  # as python -m genie_exp.train saved it
    t = time.time()
    images = genie_exp.distill(model.eval(), samples=64, batch_size=32, iters=20, progress=False)
    distill_s = time.time() - t
    q = genie_exp.quantize(model, images, w_bits=4, a_bits=4, iters=50, progress=False,
                           run_dir=out / f"api-{cls.__name__}", test=(x, y))
    onnx = genie_exp.export_quantized(out / f"api-{cls.__name__}", out / f"api-{cls.__name__}.onnx")
    check = genie_exp.verify(out / f"api-{cls.__name__}", x, y, onnx_path=onnx[0])
    print(json.dumps({"model": cls.__name__, "distill_s": round(distill_s, 2), "api_top1": genie_exp.evaluate(q, x, y),
                      "verify": check}))
