#!/usr/bin/env bash
# One prepared run for a GPU machine that has PyTorch but no Neo4j and no network.
#
# Prepare on a machine with the graph, into an ignored folder that the run carries:
#   .venv/bin/python bench/reproduce_cikgrec.py --save-export .gpu/dbbook2014.npz
#   .venv/bin/python bench/scale.py --sets synthetic-846k --skip-import --keep-exports .gpu
#   .gpu/CIKGRec/: a checkout of the reference code (bench/reference/README.md), for its GPU epoch time
# Then run there:  OUT=... BUDGET_S=520 bash bench/gpu_bench.sh   (SECTIONS="2 3": some sections alone)
# On an H200 one CIKGRec refit job took 160-300 s of wall time with 12 running at once; 18 at once on
# the 16 cores made each about six times slower than alone (none finished in 545 s), so PARALLEL
# defaults to 3/4 of the cores. Jobs stopped at the deadline keep their checkpoints on the machine:
# a second call while it is still warm resumes them.
# The grid resumes: finished jobs in bench/results/reproduce_cikgrec_gpu.jsonl are copied to $OUT
# first and skipped, and so are jobs the CPU finished (bench/results/reproduce_cikgrec_protocols.jsonl;
# each run is compared with CIKGRec on its own device). Bring the returned log back into bench/results/.
#
# In order, each bounded in time, everything written under $OUT as it finishes:
#   1. seconds per epoch on dbbook2014, all of train.txt: the reference code (if carried), kgrec's
#      reference preset (same batch size, 1,024), kgrec's defaults and LightGCN, and the ratio file;
#      then LightGCN and the reference preset with the step eager, as a CUDA graph and compiled
#      (--capture; capture_epoch_time_gpu.jsonl, CAPTURE_S seconds at most);
#   2. LightGCN and CIKGRec on the 846k synthetic set: seconds per epoch, full-ranking evaluation, peak memory;
#   3. the CIKGRec fidelity groups and ablations under `refit`, with CIKGRec itself on the same seeds
#      and the same device, as many as the budget allows, into their own log (GPU numerics differ
#      from the CPU's, so their deltas are taken against the GPU base runs only).
set -u
OUT=${OUT:-/tmp/kgrec-gpu}
CARRY=${CARRY:-.gpu}
BUDGET_S=${BUDGET_S:-520}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}     # cpu: a dry run of this script on a machine without a GPU
EPOCHS=${EPOCHS:-3}
GRID_EPOCHS=${GRID_EPOCHS:-1000}
START=$(date +%s)
left() { echo $((BUDGET_S - ($(date +%s) - START))); }
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
LOG="$OUT/timings.log"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__)"
  nproc
} >"$LOG" 2>&1

# SECTIONS: which of the three to run (TIMINGS=0 means "3": the grid alone)
SECTIONS=${SECTIONS:-$([ "${TIMINGS:-1}" = 1 ] && echo "1 2 3" || echo 3)}
has() { case " $SECTIONS " in *" $1 "*) return 0;; esac; return 1; }
if has 1; then
echo "== 1. dbbook2014 epochs (left $(left) s)" >>"$LOG"
if [ -d "$CARRY/CIKGRec" ] && [ "$DEVICE" = cuda ]; then
  timeout 100 $PY bench/reference/time_reference.py --checkout "$CARRY/CIKGRec" --device cuda:0 --epochs 2 \
    --out "$OUT/reference_epoch_time_gpu.json" >>"$LOG" 2>&1 || echo "reference harness: exit $?" >>"$LOG"
fi
timeout 90 $PY bench/epoch_time.py --export-file "$CARRY/dbbook2014.npz" --all-train --device "$DEVICE" --epochs "$EPOCHS" \
  --models cikgrec:reference cikgrec lightgcn --out "$OUT/epoch_time_gpu.json" >>"$LOG" 2>&1 \
  || echo "epoch_time: exit $?" >>"$LOG"
if [ -f "$OUT/reference_epoch_time_gpu.json" ] && [ -f "$OUT/epoch_time_gpu.json" ]; then
  $PY bench/reference/side_by_side.py --kgrec "$OUT/epoch_time_gpu.json" --reference "$OUT/reference_epoch_time_gpu.json" \
    --out "$OUT/reference_side_by_side_gpu.json" >>"$LOG" 2>&1 || echo "side_by_side: exit $?" >>"$LOG"
fi
# the captured step (TrainConfig.capture, recommender/capture.py) beside the eager one, same export and
# machine: one JSON line per (model, capture); epoch 0 holds the compilation or the warm-up and capture
timeout "${CAPTURE_S:-240}" $PY - "$CARRY/dbbook2014.npz" "$DEVICE" "$EPOCHS" >>"$OUT/capture_epoch_time_gpu.jsonl" 2>>"$LOG" <<'PY' \
  || echo "capture timing: exit $?" >>"$LOG"
import json, sys, time, torch
from kg_store.graph_export import GraphExport
from recommender.config import resolve_config
from recommender.data import from_export
from recommender.trainer import Trainer
export, device, epochs = GraphExport.load(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for name in ("lightgcn", "cikgrec:reference"):
    model, _, preset = name.partition(":")
    for capture in ("none", "cuda-graph", "compile") if device == "cuda" else ("none", "compile"):
        row = {"model": name, "capture": capture, "torch": torch.__version__}
        try:
            model_config, train_config = resolve_config(model, "dbbook2014", preset=preset or None, threads=1,
                                                        device=device, valid_ratio=0.0, capture=capture)
            data = from_export(export, valid_ratio=0.0, seed=train_config.seed)
            trainer = Trainer(data.without_validation() if len(data.valid) else data, model, model_config,
                              train_config, progress=False)
            row["device"] = torch.cuda.get_device_name() if trainer.device.type == "cuda" else "cpu"
            row.update(batch_size=train_config.batch_size, epochs_s=[], total_loss=[])
            for epoch in range(epochs + 1):
                started = time.perf_counter()
                logged = trainer.train_epoch(epoch)
                if trainer.device.type == "cuda":
                    torch.cuda.synchronize()
                row["epochs_s"].append(round(time.perf_counter() - started, 3))
                row["total_loss"].append(logged["total"])
        except Exception as error:   # one failed mode must not stop the others
            row["error"] = f"{type(error).__name__}: {error}"
        print(json.dumps(row), flush=True)
PY

fi

if has 2; then
echo "== 2. 846k synthetic set (left $(left) s)" >>"$LOG"
if [ -f "$CARRY/synthetic-846k.npz" ]; then
  for model in ${MODELS_846K:-lightgcn cikgrec}; do
    timeout 110 $PY bench/scale.py --train-worker --export "$CARRY/synthetic-846k.npz" --model "$model" \
      --threads 2 --epochs "$((EPOCHS < 2 ? EPOCHS : 2))" >>"$OUT/scale_846k_gpu.jsonl" 2>>"$LOG" || echo "846k $model: exit $?" >>"$LOG"
  done
fi

fi

if has 3; then
echo "== 3. CIKGRec fidelity groups and ablations under refit (left $(left) s)" >>"$LOG"
# ONLY: the variants to run, one per line, each a name or the start of several names (default: the main
# CIKGRec, its ablations, the one-at-a-time sweep, then the fidelity groups; the bench orders the jobs so)
ONLY=${ONLY:-"cikgrec
cikgrec w/o
cikgrec linear
cikgrec tuned
cikgrec with"}
mapfile -t variants <<<"$ONLY"
# GRID_LOG: the log in bench/results/ that the grid resumes (one per export: pairs share a load);
# ALSO: logs whose finished jobs are skipped (default: the CPU's; "" for none)
GRID_LOG=${GRID_LOG:-reproduce_cikgrec_gpu.jsonl}
ALSO=${ALSO-bench/results/reproduce_cikgrec_protocols.jsonl}
[ -f "bench/results/$GRID_LOG" ] && cp "bench/results/$GRID_LOG" "$OUT/"
$PY bench/reproduce_cikgrec.py --export-file "$CARRY/dbbook2014.npz" --device "$DEVICE" \
  --epochs "$GRID_EPOCHS" --log "$OUT/$GRID_LOG" --protocols refit --parallel "${PARALLEL:-$(( $(nproc) * 3 / 4 ))}" \
  --seeds "${SEEDS:-3}" --ablation-seeds "${ABLATION_SEEDS:-3}" --fidelity-seeds "${FIDELITY_SEEDS:-1}" --tuning-seeds "${TUNING_SEEDS:-1}" --deadline-s "$(($(left) - 20))" \
  --only "${variants[@]}" --also $ALSO \
  >"$OUT/grid.log" 2>&1
fi
echo "== done (left $(left) s)" >>"$LOG"
