#!/usr/bin/env bash
# Fan-out across nodes on NATS (issue 14): loadgen broadcast against ONE wsnode (its NATS server
# embedded, no cluster) and against THREE wsnode processes on this machine routed to one another,
# the same subscribers and messages, the publisher on the first node. It writes
# bench/nodes/one.json, three.json (loadgen's results, per node for three), the /stats of each
# node before and after (stats-*.json), and prints the summary that RESULTS.md quotes: deliveries
# per second and their ratio, each node's p99, and the NATS messages counted by the embedded
# servers (messages of the service's account over routes).
#
#	bench/nodes/run.sh                        # 3,000 subscribers, 1,000 messages, 8 in flight
#	C=999 M=300 OUT=/tmp/nodes bench/nodes/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
out=${OUT:-$here}
subs=${C:-3000}
msgs=${M:-1000}
inflight=${INFLIGHT:-8}
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

# start NAME ARGS...: a wsnode in the background, once it printed its ready line.
start() {
  local name=$1
  shift
  "$bin/wsnode" "$@" >"$bin/$name.out" 2>&1 &
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

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), wsloop $(git -C "$root" log -1 --format=%h), $(nproc) CPUs, $(go env GOVERSION), $(uname -sr)"
echo "## ONE: wsnode -addr 127.0.0.1:$port (NATS embedded, no cluster)"
start one -addr "127.0.0.1:$port" -node one
load one.json "ws://127.0.0.1:$port"
stopall
sleep 2

routes="127.0.0.1:$((route + 1)),127.0.0.1:$((route + 2)),127.0.0.1:$((route + 3))"
echo "## THREE: wsnode -addr 127.0.0.1:\$((port+i)) -nats-cluster 127.0.0.1:\$((route+i)) -nats-routes $routes, i = 1..3"
urls=""
for i in 1 2 3; do
  start "node$i" -addr "127.0.0.1:$((port + i))" -nats-cluster "127.0.0.1:$((route + i))" -nats-routes "$routes" -node "node$i"
  urls="$urls${urls:+,}ws://127.0.0.1:$((port + i))"
done
for i in 1 2 3; do
  for _ in $(seq 100); do [ "$(curl -sf "http://127.0.0.1:$((port + i))/stats" | jq .nats_peers)" = 2 ] && break; sleep 0.1; done
  stats "$i" before
done
load three.json "$urls"
for i in 1 2 3; do stats "$i" after; done
stopall

echo "## Summary"
one=$(jq ".broadcast.deliveries_per_s | round" "$out/one.json")
three=$(jq ".broadcast.deliveries_per_s | round" "$out/three.json")
echo "deliveries/s: one node $one, three nodes $three, ratio $(jq -n "$three / $one * 100 | round / 100")"
echo "one node: p50 $(jq .latency_us.p50 "$out/one.json") us, p99 $(jq .latency_us.p99 "$out/one.json") us"
jq -r '.broadcast.nodes[] | "three nodes, \(.url)\(if .publisher then " (publisher)" else "" end): \(.deliveries) of \(.expected), p50 \(.latency_us.p50) us, p99 \(.latency_us.p99) us"' "$out/three.json"
for i in 1 2 3; do
  d() { echo $(($(jq ".$1" "$out/stats-after-$i.json") - $(jq ".$1" "$out/stats-before-$i.json"))); }
  echo "node$i: broker published $(d broker_published), received $(d broker_received), gaps $(d broker_gaps); NATS route msgs out $(d nats_route_out_msgs), in $(d nats_route_in_msgs); server msgs in $(d nats_in_msgs), out $(d nats_out_msgs)"
done
