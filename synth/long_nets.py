#!/usr/bin/env python3
"""long_nets.py: the longest nets of a placed nextpnr-ecp5 design, before routing.

nextpnr prints a critical path only after routing, which takes hours for the paper core on the
85F; its post-placement Fmax estimate names no path. The long broadcast nets that decide the
routed clock are visible in the placement already: this reads the placed design (`placed.json`,
nextpnr's `--write` after `--no-route`) and lists, per net, the Manhattan distance in tiles from
its driver to its farthest sink, the sink count, and what drives it (a flip-flop's Q, a LUT, a
block RAM, ...). Nets are grouped by name with the generate indices taken out ([3] -> [*]), so
the 24 copies of one PE net show as one line.

A routed net costs about 65 ps a tile on the ECP5 (the routed tiny core at e7371e6: 4.15 ns for
64 tiles, 2.99 ns for 43), so at 100 MHz a register-to-register net must stay well under about
100 tiles, and a net with LUTs before or after it under less.

Usage: long_nets.py PLACED_JSON [--min-span TILES] [--top N]
"""
import argparse
import re
import sys
from collections import defaultdict

from netlist import Netlist, load_top

LOC = re.compile(r"X(\d+)/Y(\d+)/")
INDEX = re.compile(r"\[\d+\]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("placed", help="nextpnr's placed design (placed.json)")
    ap.add_argument("--min-span", type=int, default=40, help="list nets reaching this many tiles (default 40)")
    ap.add_argument("--top", type=int, default=40, help="groups to list (default 40)")
    a = ap.parse_args()
    _, top = load_top(a.placed, "long_nets")
    n = Netlist(top)
    loc = {}   # cell -> (x, y), from nextpnr's placement
    for name, cell in n.cells.items():
        m = LOC.match(cell.get("attributes", {}).get("NEXTPNR_BEL", ""))
        if m:
            loc[name] = (int(m.group(1)), int(m.group(2)))
    if not loc:
        sys.exit(f"long_nets: {a.placed}: no cell carries a NEXTPNR_BEL attribute: not a placed design")
    driver = {b: (*loc[c], f"{n.cells[c]['type']}.{port}") for b, (c, port) in n.driver.items() if c in loc}
    sinks = {b: [loc[c] for c, _ in ss if c in loc] for b, ss in n.sinks.items()}

    # one entry per net name (the shortest name of a bit: nextpnr keeps aliases)
    name_of = {}
    for name, net in top["netnames"].items():
        for b in net["bits"]:
            if isinstance(b, int) and (b not in name_of or len(name) < len(name_of[b])):
                name_of[b] = name
    groups = defaultdict(lambda: {"nets": 0, "span": 0, "fanout": 0, "drivers": set(), "example": ""})
    for b, (dx, dy, what) in driver.items():
        ss = sinks.get(b)
        if not ss or what.startswith("DCCA") or "clk" in name_of.get(b, ""):
            continue
        span = max(abs(x - dx) + abs(y - dy) for x, y in ss)
        if span < a.min_span:
            continue
        name = name_of.get(b, f"bit {b}")
        g = groups[INDEX.sub("[*]", name)]
        g["nets"] += 1
        g["drivers"].add(what)
        if span > g["span"]:
            g["span"], g["fanout"], g["example"] = span, len(ss), f"{name} from ({dx},{dy})"
    ranked = sorted(groups.items(), key=lambda kv: -kv[1]["span"])
    print(f"{a.placed}: {len(driver)} driven nets; {sum(g['nets'] for g in groups.values())} reach "
          f"{a.min_span} tiles or more, in {len(groups)} groups (longest first)")
    print(f"{'span':>5} {'sinks':>5} {'nets':>5}  driver            group / longest net")
    for key, g in ranked[: a.top]:
        print(f"{g['span']:5d} {g['fanout']:5d} {g['nets']:5d}  {','.join(sorted(g['drivers']))[:17]:17s} {key}")
        print(f"{'':36s}{g['example']}")


if __name__ == "__main__":
    main()
