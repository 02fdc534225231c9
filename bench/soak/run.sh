#!/usr/bin/env bash
# make soak: `weft serve --threads 2` under good load (`weft load`) and hostile clients at once.
# Usage: bench/soak/run.sh BUILD_DIR   (SOAK_MINUTES, default 5; SOAK_CHAOS_PER_KIND, default 10)
#
# Passes when the good clients keep at least 90% of their solo req/s, not one good request fails,
# every chaos connection is closed within the server's timeouts, and the server's descriptors and RSS
# come back to their baseline once the chaos stops. Prints each figure.
set -euo pipefail
build=${1:?usage: bench/soak/run.sh BUILD_DIR}
minutes=${SOAK_MINUTES:-5}
per_kind=${SOAK_CHAOS_PER_KIND:-10}
weft="$build/tools/weft/weft"
here=$(cd "$(dirname "$0")" && pwd)
seconds=$(python3 -c "print(int(float('$minutes') * 60))")
solo_seconds=$(( seconds < 100 ? seconds / 5 + 5 : 20 ))
# Short timeouts so that the hostile connections cycle: 5 s each, lingering 2 s. A connection the server
# keeps past 5 + 2 + a margin of 5 s is overdue.
timeouts=(--headers-timeout 5 --body-timeout 5 --send-timeout 5 --keep-alive-timeout 5 --lingering-time 2)
limit_s=12

log=$(mktemp)
"$weft" serve --port 0 --threads 2 --max-connections 10000 "${timeouts[@]}" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "soak: the server did not start"; cat "$log"; exit 1; }
url="http://127.0.0.1:$port/get"

fds() { ls /proc/$server/fd | wc -l; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$server/status; }
load_json() { "$weft" load -c 50 -d "${1}s" --json "$url"; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d$2)" "$1"; }

echo "== soak: weft serve --threads 2 on port $port, ${minutes} min of chaos (${per_kind} connections of each of 8 kinds)"
# Warm-up, not counted: 15 s of both kinds of client, so that the baseline is a server whose pools and
# allocator have reached their working size. What the long run adds beyond it is what it leaks.
python3 "$here/chaos.py" "$port" 15 "$per_kind" "$limit_s" >/dev/null &
warm_chaos=$!
load_json 15 >/dev/null
wait $warm_chaos
sleep $((limit_s + 3))
base_fds=$(fds)
base_rss=$(rss_mb)
solo=$(load_json "$solo_seconds")
solo_rps=$(field "$solo" "['rps']")
solo_failed=$(field "$solo" "['failed']")
solo_p99=$(field "$solo" "['latency_ms']['p99']")
echo "baseline after a warm-up: $base_fds descriptors, $base_rss MB RSS"
echo "solo: $(printf %.0f "$solo_rps") req/s, p99 $solo_p99 ms, $solo_failed failed"

chaos_out=$(mktemp)
python3 "$here/chaos.py" "$port" "$seconds" "$per_kind" "$limit_s" >"$chaos_out" &
chaos=$!
sleep 2
during=$(load_json $((seconds - 4)))
during_fds=$(fds)
during_rss=$(rss_mb)
wait $chaos
during_rps=$(field "$during" "['rps']")
during_failed=$(field "$during" "['failed']")
during_p99=$(field "$during" "['latency_ms']['p99']")
echo "under chaos: $(printf %.0f "$during_rps") req/s, p99 $during_p99 ms, $during_failed failed; $during_fds descriptors, $during_rss MB RSS at the end of the load"

sleep $((limit_s + 3))  # every chaos connection has had its timeouts by now
after_fds=$(fds)
after_rss=$(rss_mb)
echo "after: $after_fds descriptors, $after_rss MB RSS"

python3 - "$chaos_out" "$solo_rps" "$during_rps" "$solo_failed" "$during_failed" "$base_fds" "$after_fds" \
  "$base_rss" "$after_rss" <<'PY'
import json, sys
chaos = json.loads(open(sys.argv[1]).read())
solo, during = float(sys.argv[2]), float(sys.argv[3])
failed = int(sys.argv[4]) + int(sys.argv[5])
base_fds, after_fds = int(sys.argv[6]), int(sys.argv[7])
base_rss, after_rss = float(sys.argv[8]), float(sys.argv[9])
print("chaos connections (kind: made, closed by the server, overdue, longest held):")
overdue = 0
for kind, s in sorted(chaos.items()):
    overdue += s["overdue"]
    print(f"  {kind:32s} {s['connections']:6d} {s['closed_by_server']:6d} {s['overdue']:4d} {s['longest_s']:7.1f} s")
checks = [
    (f"good clients keep >= 90% of solo req/s: {during / solo:.1%}", during >= 0.9 * solo),
    (f"no good request failed: {failed}", failed == 0),
    (f"no chaos connection held past its timeouts: {overdue} overdue", overdue == 0),
    (f"descriptors back to baseline: {after_fds} vs {base_fds}", after_fds <= base_fds + 2),
    (f"RSS back to baseline (+20%): {after_rss} vs {base_rss} MB", after_rss <= base_rss * 1.2 + 1),
]
ok = True
for text, good in checks:
    print(("  pass  " if good else "  FAIL  ") + text)
    ok = ok and good
sys.exit(0 if ok else 1)
PY
