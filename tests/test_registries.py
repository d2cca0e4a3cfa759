"""The registries of CTR backbones, rerankers, ingest sources and export formats: one table per kind,
listed without importing the plug-ins (torch, for the models), each name imported when used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kg_store.errors import ConfigError
from kg_store.registry import Registry

ROOT = Path(__file__).parent.parent
REGISTRIES = {"recommender.ctr.registry": ["deepfm", "dien", "din"],
              "recommender.rerank.registry": ["dlcm", "prm", "setrank"],
              "ingest.registry": ["cikg", "kgat", "movielens", "neo4j", "recbole", "table"],
              "kg_store.formats.registry": ["cikg", "kgat", "pykeen", "recbole"],
              "knowledge.llm.base": ["llama-cpp", "openai", "openai-batch", "transformers"],
              "recommender.registry": ["bprmf", "cfkg", "cikgrec", "cke", "kgat", "kgcl", "kgin", "kgrec-sr",
                                       "lightgcn", "mcclk", "sgl", "simgcl"]}
#: the function that lists a module's names, where it is not ``names``
LISTERS = {"knowledge.llm.base": "backend_names", "recommender.registry": "model_names"}


def test_every_registry_lists_its_names_without_importing_torch() -> None:
    code = ("import importlib, json, sys; "
            f"listers = {LISTERS!r}; "
            "found = {m: getattr(importlib.import_module(m), listers.get(m, 'names'))() "
            f"for m in {sorted(REGISTRIES)!r}}}; "
            "print(json.dumps([found, 'torch' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [REGISTRIES, False]


def test_a_name_is_imported_when_used_and_unknown_names_are_listed() -> None:
    registry: Registry[object] = Registry("thing", {"ordered": "collections:OrderedDict", "path": "pathlib:Path"})
    assert registry.names() == ["ordered", "path"] and "path" in registry and len(registry) == 2
    assert registry.target("path") == "pathlib:Path" and registry.get("path") is Path
    with pytest.raises(ConfigError, match=r"No thing 'nope'; known: ordered, path\."):
        registry.get("nope")
    with pytest.raises(ConfigError, match="module:Class"):
        registry.register("bad", "pathlib.Path")


def test_register_create_and_unregister() -> None:
    registry: Registry[object] = Registry("thing", {})
    registry.register("path", Path)
    assert registry.target("path") == "pathlib:Path"
    assert registry.create("path", "a") == Path("a") and registry.create(Path, "b") == Path("b")
    made = Path("c")
    assert registry.create(made) is made
    with pytest.raises(ConfigError, match="instance"):
        registry.create(made, "d")
    registry.unregister("path")
    assert registry.names() == []


def test_a_ctr_subclass_with_a_name_registers_itself_and_builds_from_its_class() -> None:
    from recommender.ctr import registry as ctr_registry
    from recommender.ctr.models import DeepFM
    from recommender.features.batch import FeatureSpec

    spec = FeatureSpec(n_users=3, n_items=4, user_fields=(), item_fields=(), n_genres=2, text_dim=0, max_history=2)

    class Wider(DeepFM):
        name = "wider_deepfm"

    try:
        assert ctr_registry.get("wider_deepfm") is Wider
        built = ctr_registry.create(Wider, spec, embedding_dim=2, mlp_dims=(4,))
        assert type(built) is Wider and built.config.embedding_dim == 2
        assert ctr_registry.create(built) is built
        assert type(ctr_registry.create("deepfm", spec, mlp_dims=(4,))) is DeepFM
    finally:
        ctr_registry.CTR_BACKBONES.unregister("wider_deepfm")


def test_kgrec_train_finds_the_kind_from_the_registries() -> None:
    from kgrec.models_api import resolve_model
    from recommender.rerank import PRM

    assert resolve_model("din") == ("ctr", "din")
    assert resolve_model(PRM) == ("rerank", "prm")
    assert resolve_model("setrank", kind="rerank") == ("rerank", "setrank")
