#!/usr/bin/env bash
# synth/pnr_ice40.sh DIR TIMEOUT_S: place and route the core of DIR/rtl on the iCE40 UP5K (SG48),
# for a core that `floweqprop report --pnr-plan` found small enough (make synth runs that first).
# Flattens a fresh netlist of synth/ice40.ys and runs nextpnr-ice40 with --report: DIR/ice40_pnr.json
# holds Fmax and utilisation. When nextpnr fails (packing, placement) or times out, the reason
# goes to DIR/ice40_pnr_skipped.txt, which the report shows. The device must match
# report::synth::UP5K (src/report/synth.rs).
set -euo pipefail
dir=$1 limit=$2
here=$(cd "$(dirname "$0")" && pwd)
cd "$dir"
rm -f ice40_pnr.json ice40_pnr_skipped.txt
# the netlist of ice40.ys, flattened; synthesized in pnr/ so that its stat leaves ice40_stat.json alone
rm -rf pnr && mkdir pnr && ln -s ../rtl pnr/rtl
(cd pnr && ${NICE-nice -n 10} timeout "$limit" ${YOSYS:-yosys} -q -l ../ice40_pnr_synth.log \
    -p "script $here/read.ys; script $here/ice40.ys; flatten; write_json ../ice40_flat.json")
echo "up5k sg48" > ice40_pnr_device.txt
rc=0
${NICE-nice -n 10} timeout "$limit" ${NEXTPNR:-nextpnr-ice40} --up5k --package sg48 --json ice40_flat.json \
    --pcf-allow-unconstrained --freq 12 --report ice40_pnr.json -q -l ice40_pnr.log || rc=$?
if [ "$rc" -ne 0 ]; then
    rm -f ice40_pnr.json
    why=$(grep -m1 ERROR ice40_pnr.log || echo "exit $rc")
    [ "$rc" -eq 124 ] && why="timed out after $limit s"
    echo "nextpnr-ice40 failed on the UP5K: $why" > ice40_pnr_skipped.txt
    echo "pnr: $dir: $why"
    exit 0
fi
grep "Max frequency" ice40_pnr.log | tail -n 1
