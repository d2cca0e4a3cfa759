#!/usr/bin/env bash
# kgrec against the reference CIKGRec code on dbbook2014, one after the other on one machine:
# kgrec (bench/epoch_time.py), the reference (time_reference.py), kgrec again, then the ratio file.
#
#   REFERENCE_CHECKOUT=~/src/CIKGRec REFERENCE_PYTHON=~/venvs/cikgrec/bin/python \
#   EXPORT_FILE=.bench/dbbook2014.npz bash bench/reference/run.sh
#
# REFERENCE_CHECKOUT  a clone of the reference at the pinned commit (README.md beside this file)
# REFERENCE_PYTHON    a Python with the reference's packages (default: python3)
# REFERENCE_COMMIT    the checkout's commit when it is not a git clone (read from git otherwise)
# REFERENCE_REMARK    recorded with the reference's timing: how the checkout differs from a clone, if it does
# EXPORT_FILE         a saved dbbook2014 export (bench/reproduce_cikgrec.py --save-export); empty: the graph's
# THREADS (1), EPOCHS (kgrec's, 3), REFERENCE_EPOCHS (2), DEVICE (cpu)
# OUT                 the ratio file (bench/results/reference_side_by_side.json); the reference's own
#                     timing goes to REFERENCE_OUT (bench/results/reference_epoch_time.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${REFERENCE_CHECKOUT:?set REFERENCE_CHECKOUT to a clone of laowangzi/CIKGRec (see bench/reference/README.md)}"
REFERENCE_PYTHON=${REFERENCE_PYTHON:-python3}
THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-3}
REFERENCE_EPOCHS=${REFERENCE_EPOCHS:-2}
DEVICE=${DEVICE:-cpu}
OUT=${OUT:-bench/results/reference_side_by_side.json}
REFERENCE_OUT=${REFERENCE_OUT:-bench/results/reference_epoch_time.json}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
work=$(mktemp -d /tmp/kgrec-side-by-side-XXXXXX)
trap 'rm -rf "$work"' EXIT

kgrec_epochs() {
  .venv/bin/python bench/epoch_time.py --threads "$THREADS" --device "$DEVICE" --all-train --epochs "$EPOCHS" \
    --models cikgrec:reference cikgrec ${EXPORT_FILE:+--export-file "$EXPORT_FILE"} --out "$1"
}

kgrec_epochs "$work/kgrec_before.json"
"$REFERENCE_PYTHON" bench/reference/time_reference.py --checkout "$REFERENCE_CHECKOUT" --threads "$THREADS" \
  --device "$DEVICE" --epochs "$REFERENCE_EPOCHS" --out "$REFERENCE_OUT" \
  ${REFERENCE_COMMIT:+--commit "$REFERENCE_COMMIT"} --checkout-remark "${REFERENCE_REMARK:-}"
kgrec_epochs "$work/kgrec_after.json"
.venv/bin/python bench/reference/side_by_side.py --kgrec "$work/kgrec_before.json" "$work/kgrec_after.json" \
  --reference "$REFERENCE_OUT" --out "$OUT"
