"""The lazy registry: its table of modules matches what the modules register, and listing or
creating a model imports only that model's module."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import recsys.models
from recsys.errors import ConfigError
from recsys.models import Recommender, available_models, create_model
from recsys.models.registry import (
    _REGISTRY,
    MODULES,
    get_model_class,
    installed_models,
    missing_library,
    register,
)


def test_every_model_module_registers_exactly_the_names_the_table_gives_it() -> None:
    for module in pkgutil.walk_packages(recsys.models.__path__, "recsys.models."):
        importlib.import_module(module.name)
    registered = {name: cls.__module__ for name, cls in _REGISTRY.items()}
    assert registered == MODULES
    assert available_models() == sorted(MODULES)


def test_listing_and_creating_the_demo_models_imports_no_deep_learning_module() -> None:
    script = (
        "import sys\n"
        "from recsys.models import available_models, create_model\n"
        "assert 'mult_vae' in available_models()\n"
        "for name in ('most_popular', 'ease', 'item_knn'):\n"
        "    create_model(name)\n"
        "print(sorted(m for m in ('torch', 'surprise', 'implicit', 'sklearn', 'recsys.models.vae')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_a_name_missing_from_the_table_is_refused_at_registration() -> None:
    class Unlisted(Recommender):
        name = "unlisted_model"

    with pytest.raises(ConfigError, match="unlisted_model.*MODULES"):
        register(Unlisted)
    assert "unlisted_model" not in _REGISTRY


def test_an_unknown_name_lists_the_available_models() -> None:
    with pytest.raises(ConfigError, match="Unknown model 'nope'.*most_popular"):
        create_model("nope")


def test_installed_models_leave_out_a_peer_whose_library_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    peer = get_model_class("peer:cornac.bpr")
    monkeypatch.setattr(peer, "available", classmethod(lambda cls: False))
    assert "peer:cornac.bpr" not in installed_models()
    assert {"ease", "mult_vae"} <= set(installed_models())
    assert missing_library("peer:cornac.bpr") == peer.missing_message()
    assert missing_library("ease") is None
