#!/usr/bin/env bash
# kill -9 and resume of a full-space runtime profile, through the CLI:
#   bash benchmarks/bench_lut_kill_resume.sh onnxruntime 15   # backend, seconds before kill -9
# Profiles ofa_mbv3_w1.2 at 160-224 with the backend, kills the build (and its
# worker) after the given seconds, reruns the same command, and prints the
# journal's records, distinct keys and unparsable lines (450 blocks + 1 settings
# header when nothing was lost or duplicated) and both wall times.
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
"$ROOT/.venv/bin/python" - "$B.jsonl" <<'PY'
import json, sys
keys, bad = [], 0
for line in open(sys.argv[1]):
    try:
        keys.append(str(json.loads(line).get("key")))
    except ValueError:
        bad += 1
print("records", len(keys), "distinct keys", len(set(keys)), "unparsable", bad)
PY
echo "$B: killed after $(echo "$t1-$t0" | bc) s with $n1 journal lines; the rerun exited $rc after $(echo "$t2-$t1" | bc) s"
rm -rf "$DIR"
