#!/usr/bin/env bash
# Reruns the load scenarios behind every throughput, latency, memory and CPU
# figure the project quotes, and prints the median of RUNS runs of each:
# scenarios A to D against stages 5 and 6, E (the CPU that idle connections
# cost) against stages 2 and 5, A-transports (scenario A against stage 6 over
# TCP, TLS and WebSocket), P, stage 3's parser benchmark, and L, stage 5's
# benchmark of a Mutex against an RwLock around the directory. Loopback only;
# each run stops by itself within its deadline.
#
#   measurements/measure.sh [RUNS [SCENARIO...]]
#
# RUNS defaults to 3; the whole set takes a few minutes. Naming scenarios
# (e.g. `measurements/measure.sh 5 E-idle-cpu`) reruns only those; RESULTS.md
# is then rebuilt from the newest runs of every scenario.
#
# Raw results, one JSON object per run, go to measurements/results/.
# Machines are noisy: compare medians and ratios, not single runs, and keep
# other work off the machine while this runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
only=("${@:2}")
results=measurements/results
mkdir -p "$results"
# 10,000 clients need 10,000 sockets in the load tool and as many in the server.
ulimit -n 20000 2>/dev/null || echo "warning: cannot raise the open-file limit; scenarios C and D may fail" >&2

cargo build --release --quiet -p stage2-rooms -p stage5-async -p stage6-shutdown -p chat-tools

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

stages=(stage5-async stage6-shutdown)

wanted() { # whether scenario $1 is to run: all are, unless some were named
    [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " =~ " $1 " ]]
}

scenario() { # name, then the load tool's arguments
    local name=$1; shift
    wanted "$name" || return 0
    for stage in "${stages[@]}"; do
        local extra=()
        case $stage in
            # Stage 2 has no limits to lift: it takes only --addr.
            stage2-rooms) ;;
            stage5-async) extra=("${common[@]}" "${stage5[@]}") ;;
            stage6-shutdown) extra=("${common[@]}" "${stage6[@]}") ;;
        esac
        : > "$results/$stage-$name.jsonl"
        : > "$results/$stage-$name.log"
        for run in $(seq "$runs"); do
            printf '%-16s %-10s run %s of %s\n' "$stage" "$name" "$run" "$runs" >&2
            # A run that misses its target exits 3 (see `load --help`); its
            # figures still count.
            "$load" --server "target/release/$stage" "${extra[@]}" --json "$@" \
                2>> "$results/$stage-$name.log" | tail -n 1 >> "$results/$stage-$name.jsonl" || true
        done
    done
}

scenario A-burst   --clients 100   --senders 10 --messages 1000
scenario B-steady  --clients 1000  --senders 10 --rate 10 --messages 100
scenario C-crowd   --clients 10000 --senders 1  --messages 1 --connect-concurrency 1000 --deadline 30
scenario D-idle    --clients 10000 --idle-only  --connect-concurrency 1000 --deadline 30
# Stage 2 polls every socket in turn and sleeps 2 ms when a pass finds nothing;
# stage 5 sleeps in the kernel until a socket is ready. 100 silent clients
# for 10 s show what each way costs while nothing happens.
stages=(stage2-rooms stage5-async)
scenario E-idle-cpu --clients 100 --idle-only --idle-secs 10

# Scenario A again, against stage 6 only, through each of its doors: the same
# burst over plain TCP, over TLS (the load tool makes a throwaway certificate
# and passes --tls-cert/--tls-key) and over WebSocket (it passes --http-addr;
# one text message per line). The load tool's clients pay for TLS and
# WebSocket framing too, on the same cores: compare the ratios.
if wanted A-transports; then
    for transport in tcp tls websocket; do
        out="$results/stage6-shutdown-A-transports-$transport"
        : > "$out.jsonl"
        : > "$out.log"
        for run in $(seq "$runs"); do
            printf '%-16s %-10s %-9s run %s of %s\n' stage6-shutdown A-transports "$transport" "$run" "$runs" >&2
            "$load" --server target/release/stage6-shutdown "${common[@]}" "${stage6[@]}" \
                --transport "$transport" --json --clients 100 --senders 10 --messages 1000 \
                2>> "$out.log" | tail -n 1 >> "$out.jsonl" || true
        done
    done
fi

# Stage 3's benchmark: each run prints the median of 40 samples per parser.
if wanted P-parse; then
    : > "$results/stage3-protocol-P-parse.txt"
    for run in $(seq "$runs"); do
        printf '%-16s %-10s run %s of %s\n' stage3-protocol P-parse "$run" "$runs" >&2
        cargo bench --quiet -p stage3-protocol --bench parse 2>/dev/null \
            >> "$results/stage3-protocol-P-parse.txt"
    done
fi

# Stage 5's lock benchmark: each run prints, for each mix, the median of 9
# runs per lock, Mutex then RwLock around the directory.
if wanted L-lock; then
    : > "$results/stage5-async-L-lock.txt"
    for run in $(seq "$runs"); do
        printf '%-16s %-10s run %s of %s\n' stage5-async L-lock "$run" "$runs" >&2
        cargo bench --quiet -p stage5-async --bench directory_lock 2>/dev/null \
            >> "$results/stage5-async-L-lock.txt"
    done
fi

{
    echo "# Measured figures"
    echo
    echo "$(date -u +%F), $(nproc) cores, Linux $(uname -r): \`measurements/measure.sh\`"
    echo "(runs per figure in parentheses), server and load tool on the same machine,"
    echo "release builds. Scenarios C and D stop after 30 s: stage 5 does not register"
    echo "all 10,000 clients by then. CPU times come from /proc in steps of $(getconf CLK_TCK | awk '{print 1 / $1}') s."
    echo
    echo '```text'
    python3 measurements/summarize.py "$results"
    echo '```'
} > measurements/RESULTS.md
cat measurements/RESULTS.md
