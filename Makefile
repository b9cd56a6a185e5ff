# floweqprop: the main job and the checks.
#   make            short float training run on the embedded digits, ending in a PNG of samples
#   make test       every test (what CI runs)
#   make lint       rustfmt and clippy, warnings as errors
#   make bench      time one paper-scale epoch and its parts (medians)
#   make paper      the full 2000-epoch paper run (about an hour on 2 cores)
#   make eval       sample quality of the committed paper checkpoint, over generation horizons

CARGO ?= cargo
BIN   := target/release/floweqprop
RUN   ?= runs/quick
EPOCHS ?= 300

.PHONY: all quick test lint bench paper eval $(BIN)

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
