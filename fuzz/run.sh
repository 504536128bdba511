#!/usr/bin/env bash
# Fuzz modelward's static parsers with atheris for DURATION seconds in total.
#
# Usage: fuzz/run.sh DURATION [TARGET...]
#   TARGET: detect_bytes analyse_pickle scan_bytes (default: all). Each available target gets an
#   equal share of DURATION. Targets whose function does not exist yet are reported and skipped
#   (FUZZ_REQUIRE_ALL=1 makes that an error).
# Env: PYTHON (default: <repo>/.venv/bin/python), FUZZ_MAX_LEN (overrides the per-target
#   -max_len), FUZZ_WORK (default: <repo>/.cache/fuzz), FUZZ_KEEP_GOING=1 (libFuzzer fork mode:
#   keep fuzzing after a crash/hang/OOM and collect all of them; for long runs).
# Exit: 0 clean, 1 crash / hang / OOM / forbidden behaviour, 2 usage or setup error.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="${FUZZ_WORK:-$ROOT/.cache/fuzz}"
DEPS="$ROOT/.cache/fuzz-deps"
# atheris 3.1.0 ships wheels for CPython >= 3.12 only; 3.0.0 is the newest with cp311 wheels.
ATHERIS_SPEC="${ATHERIS_SPEC:-atheris==3.0.0}"
RSS_LIMIT_MB=2048
TIMEOUT_S=10
ALL_TARGETS=(detect_bytes analyse_pickle scan_bytes)
declare -A MAX_LEN=([detect_bytes]=65536 [analyse_pickle]=32768 [scan_bytes]=131072)

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
DURATION=$1
shift
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
    [[ -n ${MAX_LEN[$t]:-} ]] || { echo "fuzz: unknown target $t" >&2; exit 2; }
done
[[ -x $PYTHON ]] || { echo "fuzz: $PYTHON not found (run uv sync first)" >&2; exit 2; }

# atheris lives beside the project venv, not in it: it is put on PYTHONPATH for fuzz runs only.
if ! PYTHONPATH="$DEPS" "$PYTHON" -c "import atheris" 2>/dev/null; then
    echo "fuzz: installing $ATHERIS_SPEC into $DEPS" >&2
    if command -v uv >/dev/null; then
        uv pip install -q --target "$DEPS" -p "$PYTHON" "$ATHERIS_SPEC" || exit 2
    else
        "$PYTHON" -m pip install -q --target "$DEPS" "$ATHERIS_SPEC" || exit 2
    fi
fi
export PYTHONPATH="$DEPS${PYTHONPATH:+:$PYTHONPATH}"

available=()
for t in "${TARGETS[@]}"; do
    if why="$("$PYTHON" "$ROOT/fuzz/harness.py" "$t" --check 2>&1)"; then
        available+=("$t")
    else
        echo "fuzz: SKIP $t: $(tail -n 1 <<<"$why")" >&2
        [[ ${FUZZ_REQUIRE_ALL:-0} == 1 ]] && exit 2
    fi
done
[[ ${#available[@]} -gt 0 ]] || { echo "fuzz: no target is available" >&2; exit 2; }
share=$((DURATION / ${#available[@]}))
[[ $share -ge 1 ]] || share=1

# Peak RSS of the whole process from GNU time when present; libFuzzer's own figure otherwise.
TIMER=()
[[ -x /usr/bin/time ]] && TIMER=(/usr/bin/time -f "maxrss_kb=%M" -o "$WORK/time.txt")
KEEP_GOING=()
[[ ${FUZZ_KEEP_GOING:-0} == 1 ]] && KEEP_GOING=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
mkdir -p "$WORK"
failed=0
summary=()
for t in "${available[@]}"; do
    dir="$WORK/$t"
    mkdir -p "$dir/corpus" "$dir/seeds" "$dir/artifacts"
    "$PYTHON" "$ROOT/fuzz/seeds.py" "$t" "$dir/seeds" "$dir/dict" >/dev/null || exit 2
    touch "$dir/.start"
    log="$dir/last.log"
    echo "fuzz: $t for ${share}s (log $log)" >&2
    start=$SECONDS
    # An executable that runs this target with libFuzzer's arguments (fork mode re-runs it).
    printf '#!/bin/sh\nexec %q %q %q "$@"\n' "$PYTHON" "$ROOT/fuzz/harness.py" "$t" >"$dir/run"
    chmod +x "$dir/run"
    FUZZ_ARGV0="$dir/run" "${TIMER[@]}" "$dir/run" \
        -max_total_time="$share" -max_len="${FUZZ_MAX_LEN:-${MAX_LEN[$t]}}" \
        -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" \
        "${KEEP_GOING[@]}" -dict="$dir/dict" -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
        "$dir/corpus" "$dir/seeds" >"$log" 2>&1
    rc=$?
    elapsed=$((SECONDS - start))
    crashes=$(find "$dir/artifacts" -name 'crash-*' -newer "$dir/.start" | wc -l)
    hangs=$(find "$dir/artifacts" -name 'timeout-*' -newer "$dir/.start" | wc -l)
    ooms=$(find "$dir/artifacts" -name 'oom-*' -newer "$dir/.start" | wc -l)
    grep -q '==FORBIDDEN' "$log" && crashes=$((crashes > 0 ? crashes : 1))
    grep -q -- '-- out-of-memory' "$log" && ooms=$((ooms > 0 ? ooms : 1))
    grep -q 'ERROR: libFuzzer: timeout' "$log" && hangs=$((hangs > 0 ? hangs : 1))
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')"
    rss_mb="$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | awk '$2 > m {m = $2} END {print m + 0}')"
    [[ $runs -gt 0 ]] || runs="$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)"
    proc_kb="$(sed -n 's/^maxrss_kb=//p' "$WORK/time.txt" 2>/dev/null)"
    [[ -n $proc_kb ]] && rss_mb=$(( proc_kb / 1024 > rss_mb ? proc_kb / 1024 : rss_mb ))
    status=ok
    if [[ $crashes -gt 0 || $hangs -gt 0 || $ooms -gt 0 ]]; then
        status=FAIL
    elif [[ $rc -ne 0 ]]; then
        status="FAIL(rc=$rc)"
    fi
    [[ $status == ok ]] || failed=1
    summary+=("$(printf '%-15s %-10s %6ss %10s %8s %6s %5s %12s' "$t" "$status" "$elapsed" \
        "$runs" "$crashes" "$hangs" "$ooms" "$rss_mb")")
    if [[ $status != ok ]]; then
        echo "fuzz: $t: see $log and $dir/artifacts/" >&2
        grep -m 3 -E '==FORBIDDEN|ERROR: libFuzzer: (timeout|out-of-memory)' "$log" >&2 || true
        while IFS= read -r artifact; do
            echo "  $(basename "$artifact"): $("$dir/run" --repro "$artifact" 2>&1 | tail -n 1)" >&2
        done < <(find "$dir/artifacts" -name 'crash-*' -newer "$dir/.start" | head -n 20)
    fi
    rm -f "$WORK/time.txt"
done

printf '%-15s %-10s %7s %10s %8s %6s %5s %12s\n' target status time execs crashes hangs ooms peak_rss_mb
printf '%s\n' "${summary[@]}"
exit $failed
