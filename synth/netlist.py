"""netlist.py: a Yosys or nextpnr JSON netlist's top module, indexed by bit (synth/absorb_regs.py
edits one, synth/long_nets.py reads a placed one).

A bit is an int (a net) or a constant string ("0", "1", "x"); `driver[bit]` is the (cell, port)
that drives it, `sinks[bit]` every (cell, port) that reads it.
"""
import json
import sys
from collections import defaultdict


def load_top(path, tool):
    """The design in `path` and its top module (the one with the `top` attribute); exits naming
    `tool` and the file when it is not readable or has no single top."""
    try:
        with open(path) as f:
            design = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{tool}: {path}: {e}")
    tops = [m for m in design.get("modules", {}).values() if m.get("attributes", {}).get("top")]
    if len(tops) != 1:
        sys.exit(f"{tool}: {path}: expected one top module, found {len(tops)}")
    return design, tops[0]


class Netlist:
    """The index, and edits that keep it usable until `finish`: a deleted cell goes to `removed`
    (still in `cells` until then), a bit it drove to `replace` (the bit that carries it now)."""

    def __init__(self, mod):
        self.mod = mod
        self.cells = mod["cells"]
        self.driver, self.sinks = {}, defaultdict(list)
        for name, cell in self.cells.items():
            dirs = cell.get("port_directions", {})
            for port, bits in cell["connections"].items():
                for b in bits:
                    if isinstance(b, int):
                        if dirs.get(port) == "output":
                            self.driver[b] = (name, port)
                        else:
                            self.sinks[b].append((name, port))
        self.port_bits = {b for p in mod["ports"].values() for b in p["bits"] if isinstance(b, int)}
        self.replace = {}   # a deleted flip-flop's Q bit -> the bit that now carries it
        self.removed = set()

    def bit(self, cell, pin):
        b = self.cells[cell]["connections"].get(pin, ["x"])[0]
        return b if isinstance(b, int) else None

    def absorb_outputs(self, cell, pins):
        """The flip-flops after `pins` of `cell` go; the pins drive what they drove."""
        c = self.cells[cell]["connections"]
        for pin in pins:
            ffs = [s for s, _ in self.sinks[c[pin][0]]]
            q = self.cells[ffs[0]]["connections"]["Q"][0]
            c[pin] = [q]
            for s in ffs:
                self.replace[self.cells[s]["connections"]["Q"][0]] = q
                self.removed.add(s)

    def finish(self):
        for s in self.removed:
            del self.cells[s]
        for cell in self.cells.values():
            for port, bits in cell["connections"].items():
                cell["connections"][port] = [self.replace.get(b, b) if isinstance(b, int) else b for b in bits]
        for net in self.mod["netnames"].values():
            net["bits"] = [self.replace.get(b, b) if isinstance(b, int) else b for b in net["bits"]]
