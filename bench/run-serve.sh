#!/usr/bin/env bash
# Loopback load on POST /api/predict of a seed-style image: genreid serve vs a minimal Python demo
# of the same job (bench/serve_python.py, same model), wrk at 1, 4 and 16 connections, 20 s each.
# genreid serve runs in its default configuration (2 prediction threads, a queue of 64: no tuned
# --threads), so 4 and 16 connections measure the queue; every answer must be 2xx.
# Reports requests/s, p50/p99 latency, errors (non-2xx and socket errors, each) and the server's
# RSS before and after. Called by bench/run with BUILD SHARED. Only 127.0.0.1 is contacted.
set -u
build=$1
image=examples/images/ri-li-data__menu__030s.png
lua=$(mktemp --suffix .lua)
cat > "$lua" <<LUA
wrk.method = "POST"
local f = io.open("$image", "rb"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "image/png"
LUA
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" -X POST -d x && return 0; sleep 0.1; done; return 1; }
declare -A rps
run_one() { # name port pid
  local name=$1 port=$2 pid=$3
  local r0; r0=$(rss "$pid")
  for c in 1 4 16; do
    local o; o=$(wrk -t $((c < 2 ? 1 : 2)) -c $c -d 20s --latency -s "$lua" "http://127.0.0.1:$port/api/predict" 2>&1)
    local req p50 p99 non2xx sock
    req=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$o" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$o" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$o" | awk '/Non-2xx/ {print $NF}'); non2xx=${non2xx:-0}
    sock=$(echo "$o" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}'); sock=${sock:-0}
    rps[$name$c]=$req
    printf "  %-8s %2d conn: %8s req/s  p50 %8s  p99 %8s  errors %d (non-2xx %d, socket %d)\n" "$name" "$c" "$req" \
      "$p50" "$p99" $((non2xx + sock)) "$non2xx" "$sock"
  done
  echo "  $name RSS before ${r0} MiB, after $(rss "$pid") MiB"
}
gp=$(free_port)
"$build/genreid" serve -q --port "$gp" 2>/dev/null & g=$!
wait_port "$gp" || { echo "genreid serve did not start"; exit 1; }
run_one genreid "$gp" $g
kill -TERM $g; wait $g
pp=$(free_port)
/usr/bin/python3 bench/serve_python.py models/default.gmod "$pp" 2>/dev/null & p=$!
wait_port "$pp" || { echo "python demo did not start"; kill $p; exit 1; }
run_one python "$pp" $p
kill $p; wait $p 2>/dev/null
rm -f "$lua"
for c in 1 4 16; do
  awk -v g="${rps[genreid$c]}" -v p="${rps[python$c]}" -v c=$c 'BEGIN { printf("  %2d conn: genreid/python throughput %.1fx (target >= 10x)\n", c, g / p) }'
done
