#!/usr/bin/env bash
# Reruns the load scenarios behind every throughput, latency and memory figure
# the project quotes, against stages 5 and 6, and prints the median of RUNS
# runs of each. Loopback only; each run stops by itself within its deadline.
#
#   measurements/measure.sh [RUNS]      (default 3; the whole set takes a few minutes)
#
# Raw results, one JSON object per run, go to measurements/results/.
# Machines are noisy: compare medians and ratios, not single runs, and keep
# other work off the machine while this runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
results=measurements/results
mkdir -p "$results"
# 10,000 clients need 10,000 sockets in the load tool and as many in the server.
ulimit -n 20000 2>/dev/null || echo "warning: cannot raise the open-file limit; scenarios C and D may fail" >&2

cargo build --release --quiet -p stage5-async -p stage6-shutdown -p tests

load=target/release/load
# The load tool sends flat out on purpose. Stage 6 runs with its defaults
# but for the user limit and the rate limit, which would (rightly) refuse the
# load. Stage 5 has no backpressure: with its default ring of 256 lines it
# drops most of scenario A's burst (and says so), so its rooms keep the whole
# burst (10,000 messages), to measure it delivering rather than dropping.
common=(--server-arg=--max-users --server-arg=20000)
stage5=(--server-arg=--room-buffer --server-arg=16384)
stage6=(--server-arg=--message-rate --server-arg=1000000
        --server-arg=--message-burst --server-arg=1000000)

scenario() { # name, then the load tool's arguments
    local name=$1; shift
    for stage in stage5-async stage6-shutdown; do
        local extra=("${common[@]}")
        if [ "$stage" = stage6-shutdown ]; then extra+=("${stage6[@]}"); else extra+=("${stage5[@]}"); fi
        : > "$results/$stage-$name.jsonl"
        : > "$results/$stage-$name.log"
        for run in $(seq "$runs"); do
            printf '%-16s %-10s run %s of %s\n' "$stage" "$name" "$run" "$runs" >&2
            # A run that misses its target exits 2; its figures still count.
            "$load" --server "target/release/$stage" "${extra[@]}" --json "$@" \
                2>> "$results/$stage-$name.log" | tail -n 1 >> "$results/$stage-$name.jsonl" || true
        done
    done
}

scenario A-burst   --clients 100   --senders 10 --messages 1000
scenario B-steady  --clients 1000  --senders 10 --rate 10 --messages 100
scenario C-crowd   --clients 10000 --senders 1  --messages 1 --connect-concurrency 1000 --deadline 30
scenario D-idle    --clients 10000 --idle-only  --connect-concurrency 1000 --deadline 30

{
    echo "# Measured figures"
    echo
    echo "$(date -u +%F), $(nproc) cores, Linux $(uname -r): \`measurements/measure.sh $runs\`,"
    echo "server and load tool on the same machine, release builds. Scenarios C and D"
    echo "stop after 30 s: stage 5 does not register all 10,000 clients by then."
    echo
    echo '```text'
    python3 measurements/summarize.py "$results"
    echo '```'
} > measurements/RESULTS.md
cat measurements/RESULTS.md
