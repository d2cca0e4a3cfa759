#!/usr/bin/env bash
# The README's two commands on a bare clone: clone this repository's committed HEAD into an empty
# temporary folder, with a fresh HOME (no pip, Maven or kgrec caches, nothing beside the clone),
# then run `make demo` and `make test`. Only the package registries (PyPI, Maven Central) are used.
# Not collected by pytest. Output: the two logs and a summary under bench/results/bare_clone/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/kgrec-bare-XXXXXX)"
results="$repo/bench/results/bare_clone"
mkdir -p "$results" "$work/home"

# nothing from this shell may leak into the clone's run
unset KGREC_DATA_DIR KGREC_CACHE_DIR KGREC_NEO4J_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_CONFIG_HOME \
      NEO4J_URI NEO4J_USER NEO4J_PASSWORD NEO4J_DATABASE PIP_CACHE_DIR VIRTUAL_ENV || true
export HOME="$work/home"

git clone --quiet --no-local "$repo" "$work/kgrec"
cd "$work/kgrec"
echo "bare clone of $(git rev-parse --short HEAD) in $work/kgrec (HOME=$HOME); nothing beside it:"
ls -A "$work"

status=0
start=$(date +%s)
make demo > "$results/demo.log" 2>&1 || status=$?
demo_s=$(( $(date +%s) - start ))
.venv/bin/kgrec neo4j stop >> "$results/demo.log" 2>&1 || true
echo "make demo: exit $status in ${demo_s}s"; tail -n 12 "$results/demo.log"

start=$(date +%s)
test_status=0
make test > "$results/test.log" 2>&1 || test_status=$?
test_s=$(( $(date +%s) - start ))
echo "make test: exit $test_status in ${test_s}s"; tail -n 5 "$results/test.log"

printf '{"commit": "%s", "demo_exit": %d, "demo_seconds": %d, "test_exit": %d, "test_seconds": %d}\n' \
  "$(git rev-parse HEAD)" "$status" "$demo_s" "$test_status" "$test_s" > "$results/summary.json"
cat "$results/summary.json"
rm -rf "$work"
[ "$status" -eq 0 ] && [ "$test_status" -eq 0 ]
