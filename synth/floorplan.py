#!/usr/bin/env python3
"""floorplan.py: lock each PE's block RAMs and multipliers next to each other (synth/fpga.sh).

Left alone, nextpnr-ecp5's analytic placer scatters the hard blocks of one PE over the whole die
once the design uses most of them: on the 85F at 89% of the MULT18 and 88% of the EBR, the five
lane multipliers and six block RAMs of one paper-fpga PE spread over 97 columns and 60 rows (the
median PE), and the PE's nets crossed the die (a product net spanning 155 tiles; 49.11 MHz
estimated after placement).
A PE is a tile of the array; its hard blocks belong together. This gives hard blocks a nextpnr
`BEL` attribute (absolute placement, nextpnr docs/constraints.md):

- the array's rows spread evenly over the die's DSP rows; on one DSP row the PEs sit in column
  order (a column's PEs together), packed from both ends towards the middle, each PE's
  multipliers on consecutive sites, its block RAMs on the nearest free EBR sites, the EBR row
  below first;
- the units with multipliers (neuron pipelines, optimizer) take the free multiplier sites
  nearest the die's centre, on one DSP row where one has room, their block RAMs the EBR sites
  nearest those.

Everything else (the logic, the banks and their block RAMs) nextpnr places around these
anchors. Devices: the ECP5 dies whose sites are tabled below (docs/results/fpga/README.md,
"Floorplan").

Usage: floorplan.py ECP5_JSON DEVICE [--summary FILE]   (edits ECP5_JSON in place)
"""
import argparse
import json
import re
import sys
from collections import defaultdict

from netlist import load_top

# The ECP5 dies' hard-block sites, as nextpnr-ecp5 0.11 names them: the y of each DSP row and EBR
# row, and the x of each site along a row (the same in every row of a kind). Read from placements
# of a netlist of nothing but every MULT18X18D and DP16KD the die has. Along a row the sites come
# in groups of four: MULT18_0, _1, _4, _5 and EBR0 to EBR3.
_SMALL_DIE = ([13], [25, 37],
              [4, 5, 8, 9, 13, 14, 17, 18, 22, 23, 26, 27, 33, 34, 37, 38, 42, 43, 46, 47, 51, 52, 55, 56, 60, 61,
               64, 65],
              [4, 6, 8, 10, 13, 15, 17, 19, 22, 24, 26, 28, 33, 35, 37, 39, 42, 44, 46, 48, 51, 53, 55, 57, 60, 62,
               64, 66])
DIES = {
    # device: (DSP row ys, EBR row ys, MULT18 xs, EBR xs)
    "12k": _SMALL_DIE,
    "25k": _SMALL_DIE,
    "45k": ([22, 46], [10, 34, 58],
            [4, 5, 8, 9, 13, 14, 17, 18, 22, 23, 26, 27, 31, 32, 35, 36, 42, 43, 46, 47, 51, 52, 55, 56, 60, 61, 64,
             65, 69, 70, 73, 74, 78, 79, 82, 83],
            [4, 6, 8, 10, 13, 15, 17, 19, 22, 24, 26, 28, 31, 33, 35, 37, 42, 44, 46, 48, 51, 53, 55, 57, 60, 62, 64,
             66, 69, 71, 73, 75, 78, 80, 82, 84]),
    "85k": ([10, 34, 58], [22, 46, 70, 82],
            [4, 5, 8, 9, 13, 14, 17, 18, 22, 23, 26, 27, 31, 32, 35, 36, 40, 41, 44, 45, 49, 50, 53, 54, 58, 59, 62,
             63, 69, 70, 73, 74, 78, 79, 82, 83, 87, 88, 91, 92, 96, 97, 100, 101, 105, 106, 109, 110, 114, 115, 118,
             119],
            [4, 6, 8, 10, 13, 15, 17, 19, 22, 24, 26, 28, 31, 33, 35, 37, 40, 42, 44, 46, 49, 51, 53, 55, 58, 60, 62,
             64, 69, 71, 73, 75, 78, 80, 82, 84, 87, 89, 91, 93, 96, 98, 100, 102, 105, 107, 109, 111, 114, 116, 118,
             120]),
}
PE = re.compile(r"u_array\.g_row\[(\d+)\]\.g_col\[(\d+)\]\.u_pe\.(?:g_lane\[(\d+)\]\.)?")
HARD = {"MULT18X18D": "mult", "DP16KD": "ebr"}


def sites(die):
    """{row y: [(x, BEL name)]} of the MULT18 sites and of the EBR sites."""
    dsp_ys, ebr_ys, mult_xs, ebr_xs = die
    mult = {y: [(x, f"X{x}/Y{y}/MULT18_{(0, 1, 4, 5)[i % 4]}") for i, x in enumerate(mult_xs)] for y in dsp_ys}
    ebr = {y: [(x, f"X{x}/Y{y}/EBR{i % 4}") for i, x in enumerate(ebr_xs)] for y in ebr_ys}
    return mult, ebr


def hard_blocks(cells):
    """The hard blocks by owner: {(row, col): {"mult": [(lane, cell)], "ebr": [...]}} of the PEs,
    {instance: {"mult": [cell], "ebr": [cell]}} of the other units (neuron pipelines, optimizer,
    banks: the cell name's first component)."""
    pes = defaultdict(lambda: {"mult": [], "ebr": []})
    units = defaultdict(lambda: {"mult": [], "ebr": []})
    for name, cell in cells.items():
        kind = HARD.get(cell["type"])
        if kind is None:
            continue
        m = PE.match(name)
        if m:
            pes[(int(m[1]), int(m[2]))][kind].append((int(m[3] or 0), name))
        else:
            units[name.split(".")[0]][kind].append(name)
    return pes, units


class Die:
    """The free sites of a die, handed out by `take_*`."""

    def __init__(self, die):
        self.mult_rows, ebr_rows = sites(die)
        self.free_mult = {s for row in self.mult_rows.values() for _, s in row}
        self.free_ebr = {s for row in ebr_rows.values() for _, s in row}
        self.at = {s: (x, y) for rows in (self.mult_rows, ebr_rows) for y, row in rows.items() for x, s in row}

    def take(self, site):
        (self.free_mult if "MULT" in site else self.free_ebr).remove(site)
        return site

    def take_ebr_near(self, x, y):
        """The free EBR nearest (x, y), the row below first (an EBR row lies 12 tiles below a DSP
        row on these dies)."""
        return self.take(min(self.free_ebr, key=lambda s: (abs(self.at[s][0] - x) + abs(self.at[s][1] - y - 12), s)))

    def free_run(self, n, x, y):
        """n free multiplier sites in a row (consecutive along a DSP row), the run whose middle is
        nearest (x, y); [] when no row has one."""
        runs = []
        for ry, row in self.mult_rows.items():
            sites = [s for _, s in row]
            for i in range(len(sites) - n + 1):
                if all(s in self.free_mult for s in sites[i:i + n]):
                    mx = self.centre(sites[i:i + n])[0]
                    runs.append((abs(ry - y), abs(mx - x), ry, i, sites[i:i + n]))
        return min(runs)[4] if runs else []

    def centre(self, sites):
        return (sum(self.at[s][0] for s in sites) / len(sites), sum(self.at[s][1] for s in sites) / len(sites))


def place_pes(pes, die, device, reserve):
    """PE rows spread evenly over the DSP rows. On a DSP row the PEs sit in (column, row) order
    (a column's PEs, which read one N-side bank, together), the first half spread evenly over the
    row's left part, the second over its right part, keeping up to `reserve` sites in the middle
    free for the central units; each PE's multipliers on consecutive sites in the middle of its
    share, its block RAMs on the nearest free EBR sites."""
    rows = sorted({r for r, _ in pes})
    dsp_ys = sorted(die.mult_rows)
    on_row = defaultdict(list)
    for pe in sorted(pes, key=lambda rc: (rc[1], rc[0])):
        on_row[dsp_ys[rows.index(pe[0]) * len(dsp_ys) // len(rows)]].append(pe)
    locked = {}
    for y, row_pes in sorted(on_row.items()):
        row = [s for _, s in die.mult_rows[y]]
        counts = [len(pes[pe]["mult"]) for pe in row_pes]
        if sum(counts) > len(row):
            sys.exit(f"floorplan: {len(row_pes)} PEs need {sum(counts)} multipliers on DSP row Y{y}, which "
                     f"has {len(row)} on the {device}")
        half = (len(row_pes) + 1) // 2
        middle = min(reserve, len(row) - sum(counts))
        width = len(row) - middle
        # the left part gets the left half's multipliers and half the spare sites
        left = sum(counts[:half]) + (width - sum(counts)) // 2
        for part, (lo, hi) in ((range(half), (0, left)), (range(half, len(row_pes)), (len(row) - width + left, len(row)))):
            part = list(part)
            need = sum(counts[j] for j in part)
            at = lo
            for k, j in enumerate(part):
                # an equal share of the part's spare sites before each PE
                spare = (hi - lo - need) * (k + 1) // (len(part) + 1) - (hi - lo - need) * k // (len(part) + 1)
                at += spare
                mine = row[at:at + counts[j]]
                for (_, name), site in zip(sorted(pes[row_pes[j]]["mult"]), mine):
                    locked[name] = die.take(site)
                x = die.centre(mine or row[at:at + 1])[0]
                for _, name in sorted(pes[row_pes[j]]["ebr"]):
                    locked[name] = die.take_ebr_near(x, y)
                at += counts[j]
    return locked


def place_units(units, die):
    """Each unit with multipliers (the neuron pipelines, the optimizer), most multipliers first:
    its multipliers on consecutive free sites of one DSP row, the run nearest the die's centre
    (else the free sites nearest it), its block RAMs on the free EBR nearest them. Units
    without a multiplier (the banks) are left to nextpnr."""
    locked = {}
    xs = [die.at[s][0] for s in die.at]
    cx = (min(xs) + max(xs)) / 2
    dsp_ys = sorted(die.mult_rows)
    cy = dsp_ys[len(dsp_ys) // 2]
    for unit, blocks in sorted(units.items(), key=lambda u: (-len(u[1]["mult"]), u[0])):
        n = len(blocks["mult"])
        if n == 0:
            continue
        mine = die.free_run(n, cx, cy)
        if not mine:
            # no row has n free sites in a row: the nearest free sites, row by row from the centre
            free = defaultdict(list)
            for s in die.free_mult:
                free[die.at[s][1]].append(s)
            for y in sorted(free, key=lambda y: (abs(y - cy), y)):
                mine += sorted(free[y], key=lambda s: (abs(die.at[s][0] - cx), s))[:n - len(mine)]
        if len(mine) < n:
            sys.exit(f"floorplan: {unit} needs {n} multipliers, {len(mine)} are left")
        for name, site in zip(sorted(blocks["mult"]), sorted(mine, key=lambda s: (abs(die.at[s][1] - cy), die.at[s]))):
            locked[name] = die.take(site)
        x, y = die.centre(mine)
        for name in sorted(blocks["ebr"]):
            locked[name] = die.take_ebr_near(x, y)
    return locked


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("netlist", help="Yosys's ECP5 netlist (ecp5.json), edited in place")
    ap.add_argument("device", help="nextpnr-ecp5 device: " + ", ".join(DIES))
    ap.add_argument("--summary", help="write what was locked where to this JSON file")
    a = ap.parse_args()
    if a.device not in DIES:
        print(f"not floorplanned: no site table for the {a.device} in synth/floorplan.py (have {', '.join(DIES)})")
        return
    design, top = load_top(a.netlist, "floorplan")
    pes, units = hard_blocks(top["cells"])
    if not pes:
        print("not floorplanned: no PE block RAM or multiplier in the netlist")
        return
    die = Die(DIES[a.device])
    reserve = sum(len(u["mult"]) for u in units.values())
    locked = place_pes(pes, die, a.device, reserve)
    n_pe = len(locked)
    locked.update(place_units(units, die))
    for name, bel in locked.items():
        top["cells"][name].setdefault("attributes", {})["BEL"] = bel
    with open(a.netlist, "w") as f:
        json.dump(design, f)
    print(f"{n_pe} block RAMs and multipliers of {len(pes)} PEs locked side by side, {len(locked) - n_pe} of "
          f"the neuron pipelines and the optimizer by theirs, by synth/floorplan.py (floorplan.json)")
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump({"device": a.device, "pes": len(pes), "locked": locked}, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
