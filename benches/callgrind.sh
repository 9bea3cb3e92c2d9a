#!/usr/bin/env bash
# Exact instruction counts of one peer's workloads (quick sizes, one run each):
#   benches/callgrind.sh [PEER] [WORKLOAD...]      (default: anyloop, all five)
# Prints "workload Ir" per workload, counting only inside the workload fn.
# FEATURES=tracing benches/callgrind.sh: the same with anyloop's features.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${1:-anyloop}; shift || true
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(spawn_join yield_many pingpong chained_spawn timers)
bin=$(cargo bench -p anyloop --bench runtime --no-run --message-format=json \
  ${FEATURES:+--features "$FEATURES"} 2>/dev/null |
  python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="runtime" and m.get("executable"): print(m["executable"])' | tail -1)
out=$(mktemp -d)
for w in "${workloads[@]}"; do
  name=$w; [ "$w" = yield_many ] && name=yield
  valgrind --tool=callgrind --callgrind-out-file="$out/$w.cg" \
    "--toggle-collect=*workloads::$w*" \
    "$bin" --quick --rounds 0 --peer "$peer" "=$name" >/dev/null 2>"$out/$w.log" || { cat "$out/$w.log"; exit 1; }
  ir=$(grep -E '^(summary|totals):' "$out/$w.cg" | head -1 | awk '{print $2}')
  printf '%-14s %12s Ir\n' "$w" "$ir"
done
echo "(callgrind files in $out)"
