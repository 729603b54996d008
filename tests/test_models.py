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
