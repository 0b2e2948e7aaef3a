#!/usr/bin/env bash
# Fan-out across nodes on NATS (issue 14): loadgen broadcast against cmd/echo (no broker: the
# process alone), against ONE wsnode (its NATS server embedded, no cluster) and against THREE
# wsnode processes on this machine routed to one another, the same subscribers and messages, the
# publisher on the first node, ROUNDS times. It writes bench/nodes/echo-R.json, one-R.json,
# three-R.json for each round R (loadgen's results, per node for three), the /stats of each
# node before and after (stats-*.json), and prints the summary that RESULTS.md quotes: deliveries
# per second and their ratio, each node's p99, and the NATS messages counted by the embedded
# servers (messages of the service's account over routes).
#
#	bench/nodes/run.sh                        # 3,000 subscribers, 1,000 messages, 8 in flight
#	ROUNDS=3 bench/nodes/run.sh               # three rounds, for the noise
#	C=999 M=300 OUT=/tmp/nodes bench/nodes/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
out=${OUT:-$here}
subs=${C:-3000}
msgs=${M:-1000}
inflight=${INFLIGHT:-8}
rounds=${ROUNDS:-1}     # rounds of the three runs, one after the other
port=${PORT:-8090}      # ONE on PORT, THREE on PORT+1..PORT+3
route=${ROUTE:-6220}    # THREE's routes on ROUTE+1..ROUTE+3
mkdir -p "$out"
bin=$(mktemp -d /tmp/wsloop-nodes.XXXXXX)
pids=()
cleanup() {
  for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
  for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
  rm -rf "$bin"
}
trap cleanup EXIT
go -C "$root/natsbroker" build -o "$bin/wsnode" ./cmd/wsnode
go -C "$root" build -o "$bin/loadgen" ./cmd/loadgen
go -C "$root" build -o "$bin/echo" ./cmd/echo

# start NAME PROGRAM ARGS...: wsnode or echo in the background, once it printed its ready line.
start() {
  local name=$1 prog=$2
  shift 2
  "$bin/$prog" "$@" >"$bin/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening on' "$bin/$name.out" && return; sleep 0.1; done
  echo "$name did not start:" >&2
  cat "$bin/$name.out" >&2
  exit 1
}
# stopall: SIGTERM to every node, and wait for them.
stopall() {
  for p in "${pids[@]}"; do kill -TERM "$p"; done
  for p in "${pids[@]}"; do wait "$p" || echo "a node exited with status $?" >&2; done
  pids=()
}
# stats I TAG: node I's /stats into stats-TAG-I.json.
stats() { curl -sf "http://127.0.0.1:$((port + $1))/stats" >"$out/stats-$2-$1.json"; }
# load FILE URLS: the broadcast run.
load() {
  local file=$1 urls=$2 rc=0
  echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC') load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "loadgen broadcast -url $urls -publish-on 0 -c $subs -m $msgs -inflight $inflight -q -json $file"
  "$bin/loadgen" broadcast -url "$urls" -publish-on 0 -c "$subs" -m "$msgs" -inflight "$inflight" -q \
    -stats off -json "$out/$file" >"$out/${file%.json}.txt" 2>&1 || rc=$?
  cat "$out/${file%.json}.txt"
  echo "exit $rc"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), wsloop $(git -C "$root" log -1 --format=%h), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(go env GOVERSION), $(uname -sr)"
for r in $(seq "$rounds"); do
  echo "## Round $r: ECHO: cmd/echo -addr 127.0.0.1:$port"
  start echo echo -addr "127.0.0.1:$port"
  load "echo-$r.json" "ws://127.0.0.1:$port"
  stopall
  sleep 2

  echo "## ONE: wsnode -addr 127.0.0.1:$port (NATS embedded, no cluster)"
  start one wsnode -addr "127.0.0.1:$port" -node one
  load "one-$r.json" "ws://127.0.0.1:$port"
  stopall
  sleep 2

  routes="127.0.0.1:$((route + 1)),127.0.0.1:$((route + 2)),127.0.0.1:$((route + 3))"
  echo "## THREE: wsnode -addr 127.0.0.1:\$((port+i)) -nats-cluster 127.0.0.1:\$((route+i)) -nats-routes $routes, i = 1..3"
  urls=""
  for i in 1 2 3; do
    start "node$i" wsnode -addr "127.0.0.1:$((port + i))" -nats-cluster "127.0.0.1:$((route + i))" -nats-routes "$routes" -node "node$i"
    urls="$urls${urls:+,}ws://127.0.0.1:$((port + i))"
  done
  for i in 1 2 3; do
    for _ in $(seq 100); do [ "$(curl -sf "http://127.0.0.1:$((port + i))/stats" | jq .nats_peers)" = 2 ] && break; sleep 0.1; done
    stats "$i" "before-$r"
  done
  load "three-$r.json" "$urls"
  for i in 1 2 3; do stats "$i" "after-$r"; done
  stopall

  echo "## Summary of round $r"
  echo "deliveries/s: cmd/echo $(jq ".broadcast.deliveries_per_s | round" "$out/echo-$r.json"), p99 $(jq .latency_us.p99 "$out/echo-$r.json") us"
  one=$(jq ".broadcast.deliveries_per_s | round" "$out/one-$r.json")
  three=$(jq ".broadcast.deliveries_per_s | round" "$out/three-$r.json")
  echo "deliveries/s: one node $one, three nodes $three, ratio $(jq -n "$three / $one * 100 | round / 100")"
  echo "one node: p50 $(jq .latency_us.p50 "$out/one-$r.json") us, p99 $(jq .latency_us.p99 "$out/one-$r.json") us"
  jq -r '.broadcast.nodes[] | "three nodes, \(.url)\(if .publisher then " (publisher)" else "" end): \(.deliveries) of \(.expected), p50 \(.latency_us.p50) us, p99 \(.latency_us.p99) us"' "$out/three-$r.json"
  for i in 1 2 3; do
    d() { echo $(($(jq ".$1" "$out/stats-after-$r-$i.json") - $(jq ".$1" "$out/stats-before-$r-$i.json"))); }
    echo "node$i: broker published $(d broker_published), received $(d broker_received), gaps $(d broker_gaps); NATS route msgs out $(d nats_route_out_msgs), in $(d nats_route_in_msgs); server msgs in $(d nats_in_msgs), out $(d nats_out_msgs)"
  done
  sleep 2
done
