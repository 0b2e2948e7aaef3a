#!/usr/bin/env bash
# Runs cmd/loadgen against cmd/echo (wsloop) and cmd/peerecho (every peer, and "gnet": the limit
# row, internal/limit's minimal server on gnet), a fresh server process per run, and writes each
# result to bench/loadgen/MODE-LIB.json (and the summary to .txt).
# `make -C bench loadgen` calls it; RESULTS.md's "loadgen runs" section is written from the files.
#
#	bench/loadgen/run.sh [LIB...]        # default: wsloop gorilla gobwas gws nbio coder gnet
#	MODES="echo idle10k" bench/loadgen/run.sh wsloop
#	OUT=/tmp/pass2 bench/loadgen/run.sh   # results elsewhere
#	SERVER_FLAGS=-deflate-takeover LOADGEN_FLAGS="-deflate-takeover -warm -size 1024" TAG=-takeover \
#	  MODES=idle10k bench/loadgen/run.sh wsloop gws   # flags for every server and every loadgen
#	                                                  # run, and a suffix for the result files
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=$(dirname "$here")
root=$(dirname "$bench")
out=${OUT:-$here}
read -r -a server_flags <<<"${SERVER_FLAGS:-}"
read -r -a loadgen_flags <<<"${LOADGEN_FLAGS:-}"
tag=${TAG:-}
mkdir -p "$out"
libs=("$@")
[ ${#libs[@]} -gt 0 ] || libs=(wsloop gorilla gobwas gws nbio coder gnet) # gnet: the limit row
modes=(${MODES:-echo idle10k idle19k broadcast handshake})
bin=$(mktemp -d /tmp/wsloop-loadgen.XXXXXX)
trap 'rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/echo" ./cmd/echo && go build -o "$bin/loadgen" ./cmd/loadgen)
(cd "$bench" && go build -o "$bin/peerecho" ./cmd/peerecho)
port=${PORT:-9300}
log="$out/runs.log"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), wsloop $(git -C "$root" log -1 --format=%h), $(nproc) CPUs, $(go env GOVERSION)" >>"$log"

for mode in "${modes[@]}"; do
  for lib in "${libs[@]}"; do
    port=$((port + 1))
    addr=127.0.0.1:$port
    if [ "$lib" = wsloop ]; then
      "$bin/echo" -addr "$addr" ${server_flags[@]+"${server_flags[@]}"} >"$bin/server.out" 2>&1 &
    else
      "$bin/peerecho" -lib "$lib" -addr "$addr" ${server_flags[@]+"${server_flags[@]}"} >"$bin/server.out" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do grep -q '^listening on' "$bin/server.out" && break; sleep 0.1; done
    case $mode in
      echo)      args=(echo -c 100 -inflight 1 -size 64 -d 10s) ;;
      idle10k)   args=(idle -c 10000 -d 15s -server-pid "$pid" -stats "http://$addr/stats") ;;
      idle19k)   args=(idle -c 19000 -d 15s -server-pid "$pid" -stats "http://$addr/stats" -sources 127.0.0.2-127.0.0.3) ;;
      broadcast) args=(broadcast -c 1000 -m 1000 -inflight 8) ;;
      handshake) args=(handshake -c 32 -d 10s -sources 4) ;;
    esac
    args+=(${loadgen_flags[@]+"${loadgen_flags[@]}"})
    echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) $lib: loadgen ${args[*]} -url ws://$addr -q -json $mode-$lib$tag.json" | tee -a "$log"
    rc=0
    "$bin/loadgen" "${args[@]}" -url "ws://$addr" -q -json "$out/$mode-$lib$tag.json" >"$out/$mode-$lib$tag.txt" 2>&1 || rc=$?
    echo "  exit $rc" | tee -a "$log"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    sleep 2
  done
done
