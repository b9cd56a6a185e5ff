#!/usr/bin/env python3
"""absorb_regs.py: move the flip-flops around the ECP5's block RAMs and multipliers into them.

Yosys 0.70's ECP5 maps (share/lattice/brams_map_16kd.v, dsp_map_18x18.v) use a DP16KD without
its output register (REGMODE NOREG) and a MULT18X18D without its input and output registers:
the RTL's registers stay in the fabric. A NOREG block RAM answers 5.8 ns after the clock and an
unregistered multiplier adds about 4 ns between its operands and its product (nextpnr's timing
database, speed grade 6), so with the fabric registers wherever the placer puts them, these
blocks' paths take most of a 10 ns cycle before any route. This pass, run on the netlist that
`synth_ecp5` wrote (ecp5.json) before nextpnr reads it, moves those registers into the blocks:

- a block RAM read port whose every used data bit goes only to flip-flops of the same clock with
  no enable and no set or reset (TRELLIS_FF, CEMUX 1, LSR 0, REGSET RESET: the value 0 after
  configuration, as the block's registers) gets REGMODE OUTREG with its output clock enable tied
  high; the flip-flops go, their outputs now come from the block RAM's data pins. In 36-bit mode
  (Yosys's pseudo dual port map: port B reads {DOB, DOA}) both halves are one port and both
  REGMODEs change, as nextpnr's own PDPW16KD conversion sets them.
- a multiplier whose two operands (A and B) each come from such flip-flops, each loading only
  multiplier operands, gets REG_INPUTA_CLK and REG_INPUTB_CLK CLK0 (both or neither: nextpnr
  times a multiplier with one input register as one with none); the pins read the flip-flops'
  inputs instead, and a flip-flop no longer read goes. A product whose every used bit goes only to
  such flip-flops gets REG_OUTPUT_CLK CLK0; the flip-flops go. CLK0 is the clock, CE0 1, RST0 0.

The cycle timing is unchanged: each block register loads every cycle, as the flip-flops did. A
port with any other reader or writer stays as it was. `make cosim-netlist` simulates this
netlist (synth/ecp5_sim.v models both registers), so the pass is checked bit for bit against the
golden vectors.

Usage: absorb_regs.py NETLIST_JSON [--out FILE] [--summary FILE]   (in place without --out)
"""
import argparse
import json
from collections import defaultdict

from netlist import Netlist, load_top


def ff_ok(cell, clk):
    """A flip-flop a block's register can replace: the clock, rising edge, no enable, no reset."""
    p, c = cell["parameters"], cell["connections"]
    return (
        cell["type"] == "TRELLIS_FF"
        and c.get("CLK") == clk
        and p.get("CLKMUX", "CLK").strip() == "CLK"
        and p.get("CEMUX", "1").strip() == "1"
        and c.get("LSR", ["0"]) == ["0"]
        and p.get("REGSET", "RESET").strip() == "RESET"
        and set(c) <= {"CLK", "DI", "LSR", "CE", "Q", "M"}
    )


def width(v):
    v = str(v)
    return int(v, 2) if set(v) <= {"0", "1"} and len(v) > 8 else int(v)


def outputs_to_ffs(n, bits, clk):
    """Every bit read only by flip-flops a block's output register can replace."""
    return all(
        b not in n.port_bits
        and n.sinks.get(b)
        and all(port == "DI" and s not in n.removed and ff_ok(n.cells[s], clk) for s, port in n.sinks[b])
        for b in bits
    )


def block_rams(n, summary):
    for name, cell in list(n.cells.items()):
        if cell["type"] != "DP16KD":
            continue
        p, c = cell["parameters"], cell["connections"]
        w36 = width(p.get("DATA_WIDTH_A", 18)) == 36
        for side, groups in [("B", ["DOA", "DOB"])] if w36 else [("A", ["DOA"]), ("B", ["DOB"])]:
            pins = [f"{g}{i}" for g in groups for i in range(18)]
            used = [pin for pin in pins if n.bit(name, pin) is not None and n.sinks.get(n.bit(name, pin))]
            if not used or p.get(f"REGMODE_{side}", "NOREG") != "NOREG":
                continue
            if not outputs_to_ffs(n, [n.bit(name, pin) for pin in used], c.get(f"CLK{side}")):
                summary["bram_ports_kept"] += 1
                continue
            summary["bram_ffs"] += sum(len(n.sinks[n.bit(name, pin)]) for pin in used)
            n.absorb_outputs(name, used)
            for s in ["A", "B"] if w36 else [side]:
                p[f"REGMODE_{s}"] = "OUTREG"
                c[f"OCE{s}"] = ["1"]
            summary["bram_ports_outreg"] += 1


def multipliers(n, clk, summary):
    """Input and output registers of every MULT18X18D that has them around it. Products first,
    then operands, each pass after the ones before: a flip-flop another pass deleted (a block
    RAM's or a product's register now) drives nothing here, so an operand it fed stays
    unregistered."""
    mults = [name for name, cell in n.cells.items() if cell["type"] == "MULT18X18D"
             and all(cell["parameters"].get(k, "NONE") == "NONE" for k in ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_OUTPUT_CLK"))
             and all(cell["connections"].get(pin, ["0"])[0] in ("0", "1", "x") for pin in ("CLK0", "CE0", "RST0"))]
    registered = set()
    for name in mults:
        used = [f"P{i}" for i in range(36) if n.bit(name, f"P{i}") is not None and n.sinks.get(n.bit(name, f"P{i}"))]
        if used and outputs_to_ffs(n, [n.bit(name, pin) for pin in used], clk):
            summary["mult_ffs"] += sum(len(n.sinks[n.bit(name, pin)]) for pin in used)
            n.absorb_outputs(name, used)
            p = n.cells[name]["parameters"]
            p["REG_OUTPUT_CLK"], p["REG_OUTPUT_CE"], p["REG_OUTPUT_RST"] = "CLK0", "CE0", "RST0"
            summary["mult_products_registered"] += 1
            registered.add(name)
        elif used:
            summary["mult_products_kept"] += 1
    rewired = defaultdict(int)   # flip-flop -> operand pins moved to its D input
    for name in mults:
        p, c = n.cells[name]["parameters"], n.cells[name]["connections"]
        sides = []
        for side in ("A", "B"):
            pins = [f"{side}{i}" for i in range(18) if n.bit(name, f"{side}{i}") is not None]
            drivers = [n.driver.get(n.bit(name, pin)) for pin in pins]
            sides.append((side, pins, drivers))
        # both operands or neither: nextpnr 0.11 times a multiplier with one input register as one
        # without any ("unsupported mixed input register modes")
        if not all(
            pins and all(
                d is not None and d[1] == "Q" and d[0] not in n.removed and ff_ok(n.cells[d[0]], clk)
                and all(n.cells[s]["type"] == "MULT18X18D" and port[0] in "AB" and port[1:].isdigit()
                        for s, port in n.sinks[n.bit(name, pin)])
                for pin, d in zip(pins, drivers)
            )
            for _, pins, drivers in sides
        ):
            summary["mult_operands_kept"] += 2
            continue
        for side, pins, drivers in sides:
            for pin, (ff, _) in zip(pins, drivers):
                c[pin] = list(n.cells[ff]["connections"]["DI"])
                rewired[ff] += 1
            p[f"REG_INPUT{side}_CLK"], p[f"REG_INPUT{side}_CE"], p[f"REG_INPUT{side}_RST"] = "CLK0", "CE0", "RST0"
            summary["mult_operands_registered"] += 1
            registered.add(name)
    for name in registered:
        cell = n.cells[name]
        cell["connections"]["CLK0"], cell["connections"]["CE0"], cell["connections"]["RST0"] = list(clk), ["1"], ["0"]
        for pin in ("CLK0", "CE0", "RST0"):
            cell.setdefault("port_directions", {})[pin] = "input"
    # an operand flip-flop goes once no pin reads its output any more
    for ff, moved in rewired.items():
        if moved == len(n.sinks[n.cells[ff]["connections"]["Q"][0]]):
            n.removed.add(ff)
            summary["mult_ffs"] += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("netlist", help="synth_ecp5's netlist (write_json)")
    ap.add_argument("--out", help="where to write the result (default: in place)")
    ap.add_argument("--summary", help="write what changed as JSON here")
    a = ap.parse_args()
    design, top = load_top(a.netlist, "absorb_regs")
    n = Netlist(top)
    clocks = {tuple(c["connections"]["CLK"]) for c in n.cells.values() if c["type"] == "TRELLIS_FF"}
    summary = defaultdict(int)
    block_rams(n, summary)
    if len(clocks) == 1:
        multipliers(n, list(next(iter(clocks))), summary)
    n.finish()
    with open(a.out or a.netlist, "w") as f:
        json.dump(design, f)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(dict(summary), f, indent=1)
    s = summary
    print(f"absorb_regs: {s['bram_ports_outreg']} block RAM read ports with their output register "
          f"({s['bram_ports_kept']} kept: another reader), {s['mult_operands_registered']} multiplier operands and "
          f"{s['mult_products_registered']} products registered inside ({s['mult_operands_kept']} operands, "
          f"{s['mult_products_kept']} products kept); {s['bram_ffs'] + s['mult_ffs']} flip-flops absorbed")


if __name__ == "__main__":
    main()
