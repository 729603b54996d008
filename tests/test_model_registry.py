"""`custom` is an entry of the model registry like the architectures: the entry, not a name compare,
decides the reference, the label and whether model.weights is required."""
from pathlib import Path

import pytest

from genie_exp.config import USER_MODEL, ModelConfig
from genie_exp.core.errors import UserError
from genie_exp.models import MODELS, create_model, list_models, model_names
from genie_exp.models.reference import config_reference, model_label

SRC = Path(__file__).resolve().parents[1] / "src" / "genie_exp"


def test_custom_is_a_name_the_cli_accepts_but_not_an_architecture():
    assert USER_MODEL in model_names() and USER_MODEL in MODELS
    assert USER_MODEL not in list_models() and "resnet20" in list_models()
    with pytest.raises(UserError, match="built from model.target"):
        create_model(USER_MODEL)


def test_each_entry_builds_its_own_reference_and_label():
    user = ModelConfig(name=USER_MODEL, target="my_pkg.nets.Zickzack", kwargs={"width": 3}, factory=False)
    assert config_reference(user, 10, 32) == {"kind": "target", "target": "my_pkg.nets.Zickzack",
                                              "kwargs": {"width": 3}, "factory": False}
    assert model_label(user) == "Zickzack"
    arch = ModelConfig(name="resnet20")
    ref = config_reference(arch, 7, 28)
    assert (ref["kind"], ref["name"], ref["num_classes"], ref["image_size"]) == ("registry", "resnet20", 7, 28)
    assert model_label(arch) == "resnet20"
    assert MODELS[USER_MODEL].needs_weights and not MODELS["resnet20"].needs_weights


def test_an_architecture_checks_its_keywords_and_custom_leaves_them_to_the_class():
    with pytest.raises(UserError, match="model.kwargs.widht"):
        MODELS["resnet20"].check("resnet20", ModelConfig(kwargs={"widht": 2}))
    MODELS[USER_MODEL].check(USER_MODEL, ModelConfig(name=USER_MODEL, target="a.B", kwargs={"anything": 1}))


def test_no_module_compares_a_model_name_with_custom():
    """The name is spelt once (config.USER_MODEL); everything else asks the registry entry."""
    spelt = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if '"custom"' in p.read_text()]
    assert spelt == ["config.py"]
