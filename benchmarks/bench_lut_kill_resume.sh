#!/usr/bin/env bash
# kill -9 and resume of a full-space runtime profile, through the CLI:
#   bash benchmarks/bench_lut_kill_resume.sh onnxruntime 15   # backend, seconds before kill -9
# Profiles ofa_mbv3_w1.2 at 160-224 with the backend, kills the build (and its
# worker) after the given seconds, reruns the same command, and prints the
# journal's blocks, distinct blocks and unparsable lines (450, 450 and 0 when
# nothing was lost or duplicated) and both wall times; each run is appended to
# benchmarks/results/lut_kill_resume.json (delete it to start a new series).
set -u
B=${1:-onnxruntime}
AFTER=${2:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d)
cd "$DIR"
CLI="$ROOT/.venv/bin/python -m sklearn_ofa.cli lut build --space ofa_mbv3_w1.2 --image-sizes 160,176,192,208,224 --backend $B --cache $B.jsonl --out $B.skops --quiet"
t0=$(date +%s.%N)
$CLI > /dev/null 2>&1 &
pid=$!
sleep "$AFTER"
pkill -9 -P $pid; kill -9 $pid; wait $pid 2>/dev/null
t1=$(date +%s.%N)
n1=$(wc -l < $B.jsonl)
$CLI > /dev/null 2>&1; rc=$?
t2=$(date +%s.%N)
"$ROOT/.venv/bin/python" - "$ROOT/benchmarks" "$B.jsonl" "$B" "$AFTER" "$n1" "$rc" \
    "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from _common import RESULTS, save
journal, backend, after, lines_before, rc, killed_s, rerun_s = sys.argv[2:9]
keys, bad = [], 0
for line in open(journal):
    try:
        keys.append(json.loads(line).get("key"))
    except ValueError:
        bad += 1
blocks = [k for k in keys if k is not None]  # the first line is the settings header
run = {
    "backend": backend, "kill_after_s": float(after), "killed_at_s": float(killed_s),
    "blocks_before_kill": max(int(lines_before) - 1, 0), "rerun_exit": int(rc),
    "rerun_s": float(rerun_s), "blocks": len(blocks), "distinct_blocks": len(set(blocks)),
    "unparsable_lines": bad,
}
path = RESULTS / "lut_kill_resume.json"
runs = json.loads(path.read_text())["runs"] if path.exists() else []
save("lut_kill_resume", {"runs": runs + [run]})
print(json.dumps(run))
PY
rm -rf "$DIR"
