#!/usr/bin/env bash
# The wheel on its own: build it from the checkout's files, install it (no editable link, no
# dependencies) into a fresh environment outside the repository, and run kgrec from a folder
# outside the repository: the shipped dataset and LLM answers must come from the installed
# package, and a local Neo4j must start, report and stop from the pom.xml inside the wheel.
#
# The fresh environment sees .venv's installed dependencies through a .pth file holding the plain
# path of .venv's site-packages: Python adds that path without processing the .pth files in it, so
# .venv's editable kgrec (an import hook installed by such a .pth file) stays out of sight.
#
#   .ci/wheel_check.sh            (make wheel-check; VENV_PYTHON=... picks another development Python)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
DEV_PY=${VENV_PYTHON:-$REPO/.venv/bin/python}

fail() { echo "wheel-check: FAILED: $*" >&2; exit 1; }
step() { echo "wheel-check: $*"; }

[ -x "$DEV_PY" ] || fail "$DEV_PY is missing; run 'make setup' first"
command -v git >/dev/null && git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
  || fail "$REPO is not a git checkout; the wheel is built from the files git tracks"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrec-wheel-check.XXXXXX")
case "$WORK" in "$REPO"/*) fail "the temporary folder $WORK is inside the repository; set TMPDIR elsewhere" ;; esac
ENV_DIR=$WORK/env
NEO4J_HOME_DIR=$WORK/neo4j-home
SERVER_STARTED=0

cleanup() {
  if [ "$SERVER_STARTED" = 1 ]; then
    (cd "$WORK/run" && run_kgrec --neo4j-home "$NEO4J_HOME_DIR" neo4j stop >/dev/null 2>&1) \
      || echo "wheel-check: could not stop the Neo4j in $NEO4J_HOME_DIR" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# kgrec of the fresh environment, with nothing of the caller's setup that points elsewhere: no
# PYTHONPATH, no dataset folder or remote server from the environment, an empty data home
run_kgrec() {
  env -u PYTHONPATH -u KGREC_DATA_DIR -u KGREC_NEO4J_HOME -u NEO4J_URI -u NEO4J_USER -u NEO4J_PASSWORD \
    XDG_DATA_HOME="$WORK/data-home" "$ENV_DIR/bin/kgrec" "$@"
}
run_python() {
  env -u PYTHONPATH -u KGREC_DATA_DIR XDG_DATA_HOME="$WORK/data-home" "$ENV_DIR/bin/python" "$@"
}

# -- 1. the wheel, built from the checkout's own files -------------------------------------------------
# Tracked files and new ones git does not ignore, copied to a clean folder: ignored local data
# (MovieLens, say) and a stale build/ folder cannot reach the wheel.
step "copying the checkout's files to $WORK/src"
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/run" "$WORK/data-home"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [ -f "$file" ] && printf '%s\0' "$file"; done \
  | tar --null -T - -cf - | tar -xf - -C "$WORK/src" || fail "copying the checkout's files"

step "building the wheel (python -m build --wheel)"
"$DEV_PY" -m build --wheel --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
  || { tail -n 30 "$WORK/build.log" >&2; fail "python -m build --wheel (log above)"; }
WHEELS=("$WORK"/dist/*.whl)
[ "${#WHEELS[@]}" = 1 ] && [ -f "${WHEELS[0]}" ] || fail "expected one wheel in $WORK/dist, found: ${WHEELS[*]}"
WHEEL=${WHEELS[0]}
step "built $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1))"

step "checking the wheel's files"
"$DEV_PY" - "$WHEEL" "$WORK/src" <<'PY' || fail "the wheel's files (see above)"
import sys
import zipfile
from pathlib import Path

wheel, src = Path(sys.argv[1]), Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
problems = []
shipped = {p.relative_to(src).as_posix() for p in (src / "kgrec/shipped/datasets/dbbook2014").iterdir()}
shipped.add("kgrec/shipped/llm_cache/dbbook2014-interests.jsonl")
in_wheel = {n for n in names if n.startswith("kgrec/shipped/")}
if missing := sorted(shipped - in_wheel):
    problems.append(f"shipped data missing: {missing}")
if extra := sorted(in_wheel - shipped):
    problems.append(f"unexpected files under kgrec/shipped/ (only dbbook2014 ships): {extra}")
cypher = {p.relative_to(src).as_posix() for p in (src / "cypher").rglob("*.cypher")}
if missing := sorted(cypher - names):
    problems.append(f"Cypher files missing: {missing}")
if "kg_store/neo4j_local/pom.xml" not in names:
    problems.append("kg_store/neo4j_local/pom.xml missing")
if movielens := sorted(n for n in names if "ml-100k" in n or "ml-1m" in n):
    problems.append(f"MovieLens files in the wheel: {movielens}")
if stray := sorted(n for n in names if n.split("/")[0] in {"tests", "bench", "docs", "data"}):
    problems.append(f"files outside the packages: {stray[:5]}")
for problem in problems:
    print(f"wheel-check: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# -- 2. a fresh environment that holds kgrec only from the wheel ----------------------------------------
step "installing the wheel into a fresh environment at $ENV_DIR"
"$DEV_PY" -m venv --without-pip "$ENV_DIR" || fail "creating the environment $ENV_DIR"
"$DEV_PY" -m pip --python "$ENV_DIR/bin/python" install -q --disable-pip-version-check --no-deps --no-index \
  "$WHEEL" || fail "pip install --no-deps $(basename "$WHEEL")"
ENV_SITE=$("$ENV_DIR/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
DEV_SITE=$("$DEV_PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
printf '%s\n' "$DEV_SITE" >"$ENV_SITE/kgrec-dev-dependencies.pth"

# -- 3. kgrec from the wheel, run outside the repository -------------------------------------------------
cd "$WORK/run"
step "python resolves kgrec's packages from the installed wheel"
run_python - "$ENV_SITE" "$REPO" <<'PY' || fail "kgrec's packages do not all come from the installed wheel (see above)"
import importlib
import importlib.metadata
import sys
from pathlib import Path

site, repo = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
bad = []
for name in ("kgrec", "kg_store", "cypher", "ingest", "recommender", "knowledge", "serving"):
    where = Path(importlib.import_module(name).__file__).resolve()
    if not where.is_relative_to(site) or where.is_relative_to(repo):
        bad.append(f"{name} is imported from {where}, not from {site}")
dist = Path(importlib.metadata.distribution("kgrec").locate_file("")).resolve()
if dist != site:
    bad.append(f"the kgrec distribution found first is in {dist}, not in {site}")
for line in bad:
    print(f"wheel-check: {line}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

step "kgrec --help"
run_kgrec --help >"$WORK/help.txt" 2>&1 || { cat "$WORK/help.txt" >&2; fail "kgrec --help"; }

step "kgrec data path dbbook2014"
DATA_PATH=$(run_kgrec data path dbbook2014) || fail "kgrec data path dbbook2014"
case "$DATA_PATH" in
  "$ENV_SITE"/kgrec/shipped/*) ;;
  *) fail "kgrec data path dbbook2014 printed '$DATA_PATH', not a folder inside $ENV_SITE/kgrec/shipped" ;;
esac
run_python - "$DATA_PATH" <<'PY' || fail "the shipped dbbook2014 in $DATA_PATH is incomplete or altered (see above)"
import sys

from ingest.catalog import get_entry
from ingest.download import verify_folder

verify_folder(get_entry("dbbook2014"), sys.argv[1])  # every file present, every sha256 as in the catalog
PY

step "the demo's LLM answers ship inside the package"
run_python - "$ENV_SITE" "$REPO/kgrec/shipped/llm_cache/dbbook2014-interests.jsonl" <<'PY' \
  || fail "the shipped response cache is missing or differs from the checkout's (see above)"
import sys
from pathlib import Path

from ingest.locate import shipped_response_cache

site, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
cache = shipped_response_cache("dbbook2014", "interests")
if cache is None or not cache.resolve().is_relative_to(site):
    sys.exit(f"wheel-check: shipped_response_cache('dbbook2014', 'interests') is {cache}, not a file inside {site}")
if cache.read_bytes() != source.read_bytes():
    sys.exit(f"wheel-check: {cache} differs from {source}")
PY

step "kgrec neo4j start / status / stop with a temporary home and free ports"
read -r BOLT_PORT HTTP_PORT < <(run_python -c \
  'from kg_store.local_server import free_port; print(free_port(), free_port())') || fail "picking free ports"
SERVER_STARTED=1
run_kgrec --neo4j-home "$NEO4J_HOME_DIR" neo4j start --bolt-port "$BOLT_PORT" --http-port "$HTTP_PORT" \
  --heap 512m --page-cache 64m >"$WORK/start.log" 2>&1 \
  || { tail -n 20 "$WORK/start.log" >&2; fail "kgrec neo4j start (log above)"; }
STATUS=$(run_kgrec --neo4j-home "$NEO4J_HOME_DIR" neo4j status --json) || fail "kgrec neo4j status"
printf '%s' "$STATUS" | run_python -c \
  'import json, sys; s = json.load(sys.stdin); sys.exit(0 if s["running"] and s["bolt_uri"].endswith(":'"$BOLT_PORT"'") else 1)' \
  || fail "kgrec neo4j status does not report a server running on port $BOLT_PORT: $STATUS"
run_kgrec --neo4j-home "$NEO4J_HOME_DIR" neo4j stop >"$WORK/stop.log" 2>&1 \
  || { cat "$WORK/stop.log" >&2; fail "kgrec neo4j stop"; }
SERVER_STARTED=0
STATUS=$(run_kgrec --neo4j-home "$NEO4J_HOME_DIR" neo4j status --json) || true
printf '%s' "$STATUS" | run_python -c 'import json, sys; sys.exit(1 if json.load(sys.stdin)["running"] else 0)' \
  || fail "the server still runs after kgrec neo4j stop: $STATUS"

step "passed: $(basename "$WHEEL") works on its own"
