# floweqprop: the main job and the checks.
#   make            short float training run on the embedded digits, ending in a PNG of samples
#   make test       every test (what CI runs)
#   make lint       rustfmt and clippy, warnings as errors
#   make bench      time one paper-scale epoch and its parts (medians)
#   make paper      the full 2000-epoch paper run (about an hour on 2 cores)
#   make eval       sample quality of the committed paper checkpoint, over generation horizons
#   make hdl        render the Verilog of the tiny, small and paper cores into hdl/
#   make cosim      Verilator cosimulation of a core against its golden vectors (CONFIG=tiny|small|paper)
#   make cosim-variant    the same for a core in the RTL's other rounding, overflow and LUT modes
#   make cosim-selftest   the cosimulation must fail on a corrupted vector (CORRUPT=1)
#   make lint-hdl   verilator --lint-only -Wall on the generated Verilog of every committed core

CARGO ?= cargo
BIN   := target/release/floweqprop
RUN   ?= runs/quick
EPOCHS ?= 300

.PHONY: all quick test lint bench paper eval hdl cosim cosim-variant cosim-selftest lint-hdl $(BIN)

all: quick

$(BIN):
	$(CARGO) build --release --locked

quick: $(BIN)
	$(BIN) train --epochs $(EPOCHS) --out $(RUN)
	$(BIN) sample --checkpoint $(RUN)/checkpoint.json --n 64 --png $(RUN)/samples.png --csv $(RUN)/samples.csv
	@echo "samples: $(RUN)/samples.png   loss curve: $(RUN)/loss.png"

test:
	$(CARGO) test --release --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

bench: $(BIN)
	$(BIN) bench --runs 5

paper: $(BIN)
	$(BIN) train --out runs/paper
	$(BIN) sample --checkpoint runs/paper/checkpoint.json --t1 1.0 --png runs/paper/samples_t1.0.png --csv runs/paper/samples_t1.0.csv
	$(BIN) sample --checkpoint runs/paper/checkpoint.json --t1 1.2 --png runs/paper/samples_t1.2.png --csv runs/paper/samples_t1.2.csv

T1S ?= 1.0,1.1,1.2,1.5,2.0,3.0
CHECKPOINT ?= docs/results/paper/checkpoint.json
eval: $(BIN)
	$(BIN) eval --checkpoint $(CHECKPOINT) --n 500 --sweep-t1 $(T1S) --png runs/eval_t1_sweep.png --out runs/eval_t1_sweep.txt

# ---- the generated core (docs/hardware.md)
HDL_CONFIGS := tiny small paper
RTL_FILES := fxp.v act_lut.v sgd_unit.v pe.v pe_array.v neuron_unit.v controller.v core.v
CONFIG ?= tiny
CONFIG_FILE ?= configs/$(CONFIG).yaml
VECTORS ?= testvectors/$(CONFIG)
CORRUPT ?= 0
COSIM_DIR := build/cosim/$(CONFIG)
VERILATOR ?= verilator

hdl: $(BIN)
	for c in $(HDL_CONFIGS); do $(BIN) hdl --config configs/$$c.yaml --out hdl/$$c || exit 1; done

# Renders the core and its vectors afresh, builds the testbench with Verilator and runs it: it
# prints every mismatch, the cycles per phase and per training sample, and fails on a mismatch.
cosim: $(BIN)
	$(BIN) vectors --config $(CONFIG_FILE) --out $(VECTORS)
	$(BIN) hdl --config $(CONFIG_FILE) --out $(COSIM_DIR)/rtl --vectors $(VECTORS)
	cd $(COSIM_DIR)/rtl && $(VERILATOR) --binary -j 2 --timescale 1ns/1ps -MAKEFLAGS OPT_FAST=-O2 -Wall --top-module tb_core \
		-Mdir ../obj $(RTL_FILES) tb_core.sv -o tb_core >../build.log 2>&1 || (cat ../build.log; exit 1)
	$(COSIM_DIR)/obj/tb_core +VECTORS=$(VECTORS) $(if $(filter 1,$(CORRUPT)),+CORRUPT)

# The RTL's other modes (floor rounding, wrapping overflow, a LUT without interpolation, SGD
# without momentum, another array shape) against their own golden vectors, kept in build/.
cosim-variant:
	$(MAKE) --no-print-directory cosim CONFIG=variant CONFIG_FILE=tests/data/core_variant.yaml VECTORS=build/vectors/variant

cosim-selftest:
	@mkdir -p build
	@if $(MAKE) --no-print-directory cosim CONFIG=$(CONFIG) CORRUPT=1 >build/cosim-selftest.log 2>&1; then \
		echo "cosim-selftest: FAILED: the cosimulation passed with a corrupted vector"; exit 1; \
	else \
		grep -m1 MISMATCH build/cosim-selftest.log && echo "cosim-selftest: ok (a corrupted vector fails the cosimulation)"; \
	fi

lint-hdl:
	for c in $(HDL_CONFIGS); do (cd hdl/$$c && $(VERILATOR) --lint-only -Wall --top-module core $(RTL_FILES)) || exit 1; done
	for c in $(HDL_CONFIGS); do (cd hdl/$$c && yosys -q -p "read_verilog $(RTL_FILES); hierarchy -check -top core") || exit 1; done
