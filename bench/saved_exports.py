"""What the benches share to train off the graph: a saved export in place of Neo4j, and the device's
name and peak memory for their result rows (a GPU machine used for a bench may have no Neo4j)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_export(export_file: Path | None, dataset: str) -> Any:
    """The saved export when given (``GraphExport.save``'s .npz), else the graph's export of ``dataset``."""
    if export_file is not None:
        from kg_store.graph_export import GraphExport

        return GraphExport.load(export_file)
    from kg_store.export import export_dataset
    from kgrec.api import connect

    return export_dataset(connect(), dataset)


def device_name(device: Any) -> str:
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def gpu_peak_mb(device: Any) -> float | None:
    """Peak GPU memory allocated by this process, in MB; None on the CPU."""
    import torch

    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None
