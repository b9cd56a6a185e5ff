#!/usr/bin/env bash
# synth/yosys.sh DIR TARGET TIMEOUT_S: runs synth/read.ys then synth/TARGET.ys on DIR/rtl, in DIR.
# Writes DIR/TARGET.log, DIR/TARGET_stat.json (and what TARGET.ys writes besides),
# DIR/TARGET_seconds.txt (wall time) and DIR/TARGET_rtl/ (a copy of the RTL it read). When the timeout stops Yosys it writes DIR/TARGET_timeout.txt
# instead, which `floweqprop report` shows in its table, and succeeds; any other failure fails.
# YOSYS and NICE (default `nice -n 10`) may be overridden.
set -euo pipefail
dir=$1 target=$2 limit=$3
here=$(cd "$(dirname "$0")" && pwd)
cd "$dir"
[ -f "$here/$target.ys" ] || { echo "synth: no script $here/$target.ys"; exit 1; }
rm -f "${target}_stat.json" "${target}_timeout.txt" "${target}_seconds.txt"
# the RTL this synthesis reads, kept beside its results: floweqprop report refuses results
# whose RTL differs from what the templates render now
rm -rf "${target}_rtl"
cp -r rtl "${target}_rtl"
start=$(date +%s)
rc=0
${NICE-nice -n 10} timeout "$limit" ${YOSYS:-yosys} -q -l "$target.log" \
    -p "script $here/read.ys; script $here/$target.ys" || rc=$?
secs=$(( $(date +%s) - start ))
if [ "$rc" -eq 124 ]; then
    rm -f "${target}_stat.json"
    echo "Yosys did not finish within ${limit} s (synth/$target.ys)" > "${target}_timeout.txt"
    echo "synth: $dir: $target: timed out after $limit s"
    exit 0
fi
if [ "$rc" -ne 0 ]; then
    tail -n 20 "$target.log" || true
    echo "synth: $dir: $target: yosys failed (exit $rc); log: $dir/$target.log"
    exit 1
fi
echo "$secs" > "${target}_seconds.txt"
echo "synth: $dir: $target: done in $secs s"
