#!/usr/bin/env bash
# Reruns the load scenarios behind every throughput, latency, memory and CPU
# figure the project quotes, and prints the median of RUNS runs of each:
# scenarios A to D against stages 5 and 6, E (the CPU that idle connections
# cost) against stages 2 and 5, A-transports (scenario A against stage 6 over
# TCP, TLS and WebSocket), A-redis and B-redis (scenarios A and B against 1,
# 2 and 3 stage 6 servers sharing their rooms through Redis), P, stage 3's
# parser benchmark, and L, stage 5's benchmark of a Mutex against an RwLock
# around the directory. Loopback only; each run stops by itself within its
# deadline.
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

# Scenarios A and B again, against stage 6 alone and then spread over 1, 2
# and 3 stage 6 servers sharing their rooms through Redis (`--servers N
# --redis-url URL`: the load tool starts them all and spreads every room's
# members over them). The same clients each time; only where they connect
# changes. Each run gets a fresh redis-server on a free port, so that no
# name or history outlives it; its CPU time over the whole run is added to
# the run's JSON as redis_cpu_secs. Without redis-server, both are skipped
# with a warning.
redis_setups=(alone redis-1 redis-2 redis-3)

start_redis() { # a fresh redis-server on a free loopback port: sets redis_pid, redis_url
    local port reply=
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis_dir=$(mktemp -d)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" \
        > "$redis_dir/log" 2>&1 &
    redis_pid=$!
    redis_url=redis://127.0.0.1:$port
    for _ in $(seq 100); do
        # The braces keep the 2> to this line; the exec opens fd 3 for good.
        if { exec 3<> "/dev/tcp/127.0.0.1/$port"; } 2> /dev/null; then
            printf 'PING\r\n' >&3
            read -r -t 1 reply <&3 || true
            exec 3<&-
            [[ $reply == +PONG* ]] && return 0
        fi
        sleep 0.1
    done
    echo "redis-server did not answer on port $port: see $redis_dir/log" >&2
    exit 1
}

stop_redis() {
    [ -n "${redis_pid:-}" ] || return 0
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    rm -rf "$redis_dir"
    redis_pid=
}
trap stop_redis EXIT

redis_cpu_secs() { # user + system CPU of redis-server so far, from /proc
    awk -v tck="$(getconf CLK_TCK)" '{ print ($14 + $15) / tck }' "/proc/$redis_pid/stat"
}

redis_scenario() { # name, then the load tool's arguments
    local name=$1; shift
    wanted "$name" || return 0
    if ! command -v redis-server > /dev/null; then
        echo "warning: $name skipped: it needs redis-server (apt-get install redis-server)" >&2
        return 0
    fi
    for setup in "${redis_setups[@]}"; do
        local out="$results/stage6-shutdown-$name-$setup" servers=(--servers 1)
        : > "$out.jsonl"
        : > "$out.log"
        for run in $(seq "$runs"); do
            printf '%-16s %-10s %-9s run %s of %s\n' stage6-shutdown "$name" "$setup" "$run" "$runs" >&2
            if [ "$setup" != alone ]; then
                start_redis
                servers=(--servers "${setup#redis-}" --redis-url "$redis_url")
            fi
            local line
            line=$("$load" --server target/release/stage6-shutdown "${common[@]}" "${stage6[@]}" \
                "${servers[@]}" --json "$@" 2>> "$out.log" | tail -n 1) || true
            if [ "$setup" != alone ]; then
                line=$(REDIS_CPU=$(redis_cpu_secs) python3 -c \
                    'import json, os, sys; run = json.loads(sys.argv[1]); run["redis_cpu_secs"] = float(os.environ["REDIS_CPU"]); print(json.dumps(run))' \
                    "$line") || true
                stop_redis
            fi
            echo "$line" >> "$out.jsonl"
        done
    done
}

redis_scenario A-redis --clients 100  --senders 10 --messages 1000
redis_scenario B-redis --clients 1000 --senders 10 --rate 10 --messages 100

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
