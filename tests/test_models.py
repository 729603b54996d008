import pytest
import torch

from genie_exp.models import create_model, list_models
from genie_exp.core.errors import UserError


@pytest.mark.parametrize("name", list_models())
def test_registered_model_runs_forward_on_32x32(name):
    model = create_model(name, num_classes=10, image_size=32).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_unknown_model_names_the_choices():
    with pytest.raises(UserError, match="resnet20"):
        create_model("resnet21")


def test_mobilenetv3_is_registered_with_its_shipped_teacher_and_gated_plan():
    from genie_exp.models.checkpoint import load_weights
    from genie_exp.partition import plan_units
    from genie_exp.teachers import ZOO_DIR

    model = create_model("mobilenetv3", num_classes=10, image_size=32).eval()
    blob = torch.load(ZOO_DIR / "mobilenetv3_fashion_mnist.pt", weights_only=True)
    assert blob["meta"]["model"] == "mobilenetv3"
    load_weights(model, {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()},
                 "mobilenetv3 teacher")
    plan = plan_units(model, torch.randn(2, 3, 32, 32))
    assert plan.gates == 9 and len(plan.blocks) == 11 and not plan.unheld
