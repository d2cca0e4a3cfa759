#!/usr/bin/env bash
# The two commands of a fresh checkout, timed on a bare clone: clone this repository's committed HEAD
# into an empty temporary folder, with a fresh HOME (no pip, Maven or kgrec caches, nothing beside the
# clone), then run `make demo` and `make test`. Only the package registries (PyPI, Maven Central) are used.
# Not collected by pytest. Writes bench/results/fresh_clone.json (OUT=...): the wall time of each
# command, its exit code, the test counts of pytest's summary, the CPU model, cores and memory.
# The two logs stay in a folder under /tmp, named at the end.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$repo/bench/results/fresh_clone.json}"
work="$(mktemp -d /tmp/kgrec-bare-XXXXXX)"
logs="$(mktemp -d /tmp/kgrec-bare-logs-XXXXXX)"
mkdir -p "$work/home"

# nothing from this shell may leak into the clone's run
unset KGREC_DATA_DIR KGREC_CACHE_DIR KGREC_NEO4J_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_CONFIG_HOME \
      NEO4J_URI NEO4J_USER NEO4J_PASSWORD NEO4J_DATABASE PIP_CACHE_DIR VIRTUAL_ENV || true
export HOME="$work/home"

git clone --quiet --no-local "$repo" "$work/kgrec"
cd "$work/kgrec"
commit="$(git rev-parse HEAD)"
echo "bare clone of ${commit:0:7} in $work/kgrec (HOME=$HOME); nothing beside it:"
ls -A "$work"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

demo_status=0
start=$(date +%s)
make demo > "$logs/demo.log" 2>&1 || demo_status=$?
demo_s=$(( $(date +%s) - start ))
.venv/bin/kgrec neo4j stop >> "$logs/demo.log" 2>&1 || true
echo "make demo: exit $demo_status in ${demo_s}s"; tail -n 12 "$logs/demo.log"

test_status=0
start=$(date +%s)
make test > "$logs/test.log" 2>&1 || test_status=$?
test_s=$(( $(date +%s) - start ))
echo "make test: exit $test_status in ${test_s}s"; tail -n 5 "$logs/test.log"

cd "$repo"
python3 - "$out" "$logs/test.log" <<EOF
import json, os, re, sys
out, test_log = sys.argv[1], sys.argv[2]
counts = {}
lines = [line for line in open(test_log, errors="replace") if re.search(r"\d+ (passed|failed)", line)]
if lines:  # pytest's last summary line: "=== 812 passed, 3 skipped in 401.2s ==="
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", lines[-1])}
cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), None)
mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
result = {
    "what": "a bare clone's two commands, each timed by wall clock: make demo (set-up included) and make test",
    "commit": "$commit",
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1),
                "load_average_before": [float(x) for x in "$load_before".split()]},
    "make_demo": {"exit": $demo_status, "seconds": $demo_s},
    "make_test": {"exit": $test_status, "seconds": $test_s, "tests": counts},
}
open(out, "w").write(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
EOF
echo "logs: $logs"
rm -rf "$work"
[ "$demo_status" -eq 0 ] && [ "$test_status" -eq 0 ]
