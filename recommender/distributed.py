"""The process group of data-parallel training, and what its processes agree on.

``kgrec train ... --nproc N`` runs itself again under torchrun (``python -m torch.distributed.run
--standalone --nproc-per-node N -m kgrec.cli ...``); each process torchrun starts finds ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT`` in its environment (:func:`launched`).
:func:`join` (for the whole process: ``kgrec.training.train_and_write`` calls it) and :func:`session`
(for a ``with`` block) join the group that environment describes: gloo on CPU, NCCL on GPUs (one per
process: ``LOCAL_RANK``'s), with a finite timeout, so a dead or stuck peer ends every collective with
an error instead of holding the other processes for ever. Before
the group forms, every process compares its ``WORLD_SIZE`` with the others' through the rendezvous
store: processes started with different sizes fail at once, each naming both sizes.

Rank 0 is the main process: it alone evaluates, writes checkpoints and writes back
(:func:`is_main`, :func:`share_from_main`). :func:`agree` is the handshake (every process states
facts, a difference is one error on every process); :func:`once_per_node` reads something once per
machine (the export, from the graph, into the cache the other processes then read); :func:`from_main`
reads on rank 0 alone and sends what it read to the others (the CTR data, which has no cache).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from recommender.errors import TrainingError
from recommender.trainer import pick_device

T = TypeVar("T")
#: what torchrun (or any launcher following its convention) sets in every process it starts
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
#: auto: nccl when the training device is a GPU, gloo on CPU
BACKENDS = ("auto", "gloo", "nccl")
#: seconds a process waits for the others in one collective (evaluation on rank 0 included) before
#: it gives up with an error: a dead or stuck peer never holds a process for ever
DEFAULT_TIMEOUT_S = 600.0
#: the words of a collective's error when a peer died or did not answer (gloo and NCCL raise plain
#: RuntimeErrors for these): such errors are reported as a stopped peer, others are left alone
PEER_FAILURE_MARKERS = ("gloo", "NCCL", "onnection", "imed out", "timeout")


def launched() -> bool:
    """Whether this process was started by torchrun (its environment names a rank and a rendezvous)."""
    return all(name in os.environ for name in TORCHRUN_ENV)


def active() -> bool:
    """Whether this process trains in a process group (inside :func:`session`)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if active() else 0


def is_main() -> bool:
    """Rank 0, or a process training alone: the one that evaluates, checkpoints and writes back."""
    return rank() == 0


def resolve_backend(backend: str, device: torch.device) -> str:
    """``auto``: NCCL for a CUDA device, gloo otherwise; NCCL without a GPU is an error."""
    if backend not in BACKENDS:
        raise TrainingError(f"Unknown process-group backend {backend!r}; backends: {', '.join(BACKENDS)}.")
    if backend == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise TrainingError(f"The nccl backend needs CUDA, but training runs on {device} "
                            f"({'no GPU is available' if not torch.cuda.is_available() else 'device cpu was asked'}); "
                            "use --dist-backend gloo (or auto) on CPU.")
    return backend


def process_device(device: str) -> torch.device:
    """The device this process trains on: ``cuda`` means the GPU of the local rank (one per process)."""
    picked = pick_device(device)
    if picked.type != "cuda" or not launched():
        return picked
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if picked.index is not None and local_processes > 1:
        raise TrainingError(f"--device {device} puts every process on one GPU; give cuda (or auto): each "
                            "process takes the GPU of its local rank.")
    if local_processes > torch.cuda.device_count():
        raise TrainingError(f"{local_processes} processes on this machine but {torch.cuda.device_count()} GPU(s): "
                            "start at most one process per GPU.")
    if picked.index is None:
        picked = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    torch.cuda.set_device(picked)
    return picked


def _rendezvous(timeout_s: float) -> dist.Store:
    """The launcher's store, after every process has seen the same ``WORLD_SIZE`` in it."""
    me, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    # under torchrun the agent hosts the store; a hand-made launch has rank 0 host it
    host = me == 0 and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True"
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=host,
                          timeout=timedelta(seconds=timeout_s), wait_for_workers=False)
    store.set(f"kgrec/world_size/{me}", str(size))
    for peer in (r for r in range(size) if r != me):
        key = f"kgrec/world_size/{peer}"
        try:
            store.wait([key], timedelta(seconds=timeout_s))
        except dist.DistStoreError as error:
            raise TrainingError(f"Rank {peer} of {size} did not join within {timeout_s:g} s (this is rank {me}); "
                                "start every process, with the same WORLD_SIZE and MASTER_ADDR:MASTER_PORT.") from error
        theirs = int(store.get(key))
        if theirs != size:
            raise TrainingError(f"The processes were started with different world sizes: rank {me} with "
                                f"WORLD_SIZE {size}, rank {peer} with {theirs}; start them all with the same.")
    return store


def _initialize(backend: str, device: str, timeout_s: float | None) -> None:
    timeout_s = timeout_s or DEFAULT_TIMEOUT_S
    chosen = resolve_backend(backend, process_device(device))
    store = _rendezvous(timeout_s)
    dist.init_process_group(chosen, store=store, rank=int(os.environ["RANK"]),
                            world_size=int(os.environ["WORLD_SIZE"]), timeout=timedelta(seconds=timeout_s))


def join(backend: str = "auto", device: str = "auto", timeout_s: float | None = None) -> bool:
    """Under torchrun, this process joins the process group (once; it leaves when the process ends);
    elsewhere nothing. ``device``: the training device (``auto``, ``cpu``, ``cuda``) that ``auto``
    picks the backend by; ``timeout_s``: :data:`DEFAULT_TIMEOUT_S` when None. Whether it is in a group."""
    if not active() and launched():
        _initialize(backend, device, timeout_s)
        atexit.register(lambda: dist.destroy_process_group() if active() else None)
    return active()


@contextmanager
def session(backend: str = "auto", device: str = "auto", timeout_s: float | None = None) -> Iterator[None]:
    """This process inside the process group torchrun's environment describes, for a ``with`` block
    (one already joined is kept, and left to its owner)."""
    if not launched():
        raise TrainingError("No process group to join: start the processes with torchrun (or kgrec ... --nproc N).")
    if active():
        yield
        return
    _initialize(backend, device, timeout_s)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _communication_device() -> torch.device:
    """Where the backend's tensors live: the process's GPU under NCCL, the CPU under gloo."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


@contextmanager
def peer_errors(doing: str, then: str = "Start the job again with the same command to resume from its last "
                                        "checkpoint.") -> Iterator[None]:
    """A collective that fails because a peer stopped or did not answer, as one :class:`TrainingError`
    (ending with ``then``, what to do next)."""
    try:
        yield
    except RuntimeError as error:
        if not active() or not (isinstance(error, dist.DistError)
                                or any(marker in str(error) for marker in PEER_FAILURE_MARKERS)):
            raise
        raise TrainingError(f"Training stopped while {doing}: another process stopped or did not answer "
                            f"(rank {rank()} of {world_size()}: {str(error).splitlines()[0][:300]}). {then}") from error


def share_from_main(value: T | None) -> T:
    """Rank 0's ``value`` on every process (the others pass None)."""
    if not active():
        return value  # type: ignore[return-value]
    box = [value]
    dist.broadcast_object_list(box, src=0, device=_communication_device())
    return box[0]  # type: ignore[return-value]


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """The mean of each value over the processes (every process passes the same keys)."""
    if not active() or not values:
        return values
    names = sorted(values)
    summed = torch.tensor([values[n] for n in names], dtype=torch.float64, device=_communication_device())
    dist.all_reduce(summed)
    return {name: float(v) / world_size() for name, v in zip(names, summed.tolist(), strict=True)}


def average_gradients(parameters: list[torch.nn.Parameter], bucket_elements: int = 1 << 22) -> None:
    """Each parameter's gradient replaced by its mean over the processes, in flat buckets of about
    ``bucket_elements`` values (one all-reduce each). A parameter no process has a gradient for keeps
    None (the optimizer skips it, as in one process); one that only some processes have a gradient
    for counts zeros on the others. Sparse gradients are made dense."""
    if not active():
        return
    device = _communication_device()
    held = torch.tensor([p.grad is not None for p in parameters], dtype=torch.float32, device=device)
    dist.all_reduce(held)
    used = [p for p, count in zip(parameters, held.tolist(), strict=True) if count]
    for p in used:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        elif p.grad.is_sparse:
            p.grad = p.grad.to_dense()
    bucket: list[torch.nn.Parameter] = []
    size = 0
    for p in used:
        if bucket and size + p.numel() > bucket_elements:
            _average_bucket(bucket, device)
            bucket, size = [], 0
        bucket.append(p)
        size += p.numel()
    if bucket:
        _average_bucket(bucket, device)


def _average_bucket(bucket: list[torch.nn.Parameter], device: torch.device) -> None:
    flat = torch.cat([p.grad.reshape(-1) for p in bucket]).to(device)  # type: ignore[union-attr]
    dist.all_reduce(flat)
    flat.div_(world_size())
    for p, part in zip(bucket, flat.split([p.numel() for p in bucket]), strict=True):
        p.grad.copy_(part.view_as(p))  # type: ignore[union-attr]


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Rank 0's parameter values on every process (they are built alike; this makes it certain)."""
    if active():
        for p in module.parameters():
            dist.broadcast(p.data, src=0)


def _flat(facts: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in facts.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = repr(value)
    return flat


def agree(what: str, hint: str = "start every process with the same command and configuration",
          **facts: Any) -> None:
    """Every process states ``facts`` (nested dicts compared field by field); where any differ, every
    process raises the same error naming each differing field and its value on each rank, then ``hint``."""
    if not active():
        return
    gathered: list[dict[str, str] | None] = [None] * world_size()
    with peer_errors(f"comparing {what}"):
        dist.all_gather_object(gathered, _flat(facts))
    stated = [g or {} for g in gathered]
    fields = sorted({key for g in stated for key in g})
    differing = [key for key in fields if len({g.get(key) for g in stated}) > 1]
    if differing:
        shown = "; ".join(f"{key}: " + ", ".join(f"rank {r} {g.get(key, 'unset')}" for r, g in enumerate(stated))
                          for key in differing[:5])
        more = f" (and {len(differing) - 5} more)" if len(differing) > 5 else ""
        raise TrainingError(f"The {len(stated)} processes disagree on {what}: {shown}{more}; {hint}.")


def once_per_node(read: Callable[[], T], what: str) -> T:
    """``read()`` on local rank 0 of each machine first (it fills the machine's cache), then on the
    other local ranks, which find the cache filled. A failure on any process is an error on all."""
    if not active():
        return read()
    first = local_rank() == 0
    value: T | None = None
    failure: Exception | None = None
    if first:
        try:
            value = read()
        except Exception as error:  # noqa: BLE001 - reported on every process below, raised here as it was
            failure = error
    failures: list[str | None] = [None] * world_size()
    with peer_errors(f"reading {what}"):
        dist.all_gather_object(failures, f"{type(failure).__name__}: {failure}" if failure else None)
    if failure is not None:
        raise failure
    failed = [(r, message) for r, message in enumerate(failures) if message]
    if failed:
        r, message = failed[0]
        raise TrainingError(f"Rank {r} could not read {what} ({message}).")
    return value if first else read()  # type: ignore[return-value]


def from_main(read: Callable[[], T], what: str) -> T:
    """``read()`` on rank 0 alone, its value sent to every process (the others wait for it): for data
    whose reading may also write to the graph (a split drawn, lists stored), which one process must
    do. A failure on rank 0 is an error on every process."""
    if not active():
        return read()
    value: T | None = None
    failure: Exception | None = None
    if is_main():
        try:
            value = read()
        except Exception as error:  # noqa: BLE001 - reported on every process below, raised here as it was
            failure = error
    with peer_errors(f"reading {what}", "Start the job again with the same command."):
        shared = share_from_main((value, f"{type(failure).__name__}: {failure}" if failure else None)
                                 if is_main() else None)
    if failure is not None:
        raise failure
    if shared[1]:
        raise TrainingError(f"Rank 0 could not read {what} ({shared[1]}).")
    return shared[0]
