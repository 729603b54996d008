"""The distillation says which input prior it drew from, and suggests distill.input_prior=auto where
the default colour prior meets a teacher whose first conv looks grey-trained."""
import torch
import torch.nn as nn

import genie_exp

PRIOR = "distillation input prior: "


class Net(nn.Module):
    """A stem with the same weights on its 3 input channels (a grey teacher's look), or random ones."""

    def __init__(self, grey: bool):
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.head = nn.Linear(6, 4)
        if grey:
            with torch.no_grad():
                self.stem.weight.copy_(torch.randn(6, 1, 3, 3).expand(-1, 3, -1, -1))

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.stem(x))).mean((2, 3)))


def _said(capsys, grey: bool, **options) -> list[str]:
    """The prior and note lines a distillation printed."""
    genie_exp.distill(Net(grey), samples=8, batch_size=4, iters=2, image_size=8, progress=False, **options)
    return [l for l in capsys.readouterr().out.splitlines() if l.startswith((PRIOR, "note:"))]


def test_a_grey_teacher_under_the_colour_prior_gets_one_note_pointing_to_auto(capsys):
    said = _said(capsys, grey=True)  # two batches, one line each
    assert len(said) == 2 and said[0] == PRIOR + "colour (distill.input_prior=colour)"
    assert said[1].startswith("note: ") and "distill.input_prior=auto" in said[1] and "3 input channels" in said[1]


def test_a_colour_teacher_gets_no_note(capsys):
    assert _said(capsys, grey=False) == [PRIOR + "colour (distill.input_prior=colour)"]


def test_auto_says_what_it_decided_and_why(capsys):
    assert _said(capsys, grey=True, input_prior="auto") == [
        PRIOR + "grey (distill.input_prior=auto: the first conv's weights differ across the 3 input channels "
                "by 0.00 of their norm, grey below 0.40)"]
    colour = _said(capsys, grey=False, input_prior="auto")
    assert len(colour) == 1 and colour[0].startswith(PRIOR + "colour (distill.input_prior=auto: the first conv")


def test_an_explicit_grey_prior_is_named_without_a_note(capsys):
    assert _said(capsys, grey=True, input_prior="grey") == [PRIOR + "grey (distill.input_prior=grey)"]


def test_the_cli_prints_the_prior_on_stdout(tmp_path, fmnist_root):
    from conftest import run_cli

    r = run_cli(f"data.root={fmnist_root}", "distill.samples=8", "distill.batch_size=8", "distill.iters=2",
                "distill.input_prior=auto", "recon.iters=2", "recon.batch_size=8", "quant.calib_samples=8",
                "data.eval_samples=16", "model.pretrained=false", f"hydra.run.dir={tmp_path / 'run'}",
                env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [l for l in r.stdout.splitlines() if l.startswith(PRIOR)]
    assert len(lines) == 1 and lines[0].startswith(PRIOR + "colour (distill.input_prior=auto: the first conv")
