# strom: top-level build.
#
# Sources are found by layout, so a new module needs no edit here:
#   src/**/*.c          the library every program links (src/cli/ is the strom command itself)
#   src/cli/*.c         build/strom
#   tools/gen/*.c       build/strom-gen, the schema code generator (links src/base only)
#   tests/unit/*.c      build/test/unit, one Criterion binary of every unit test
#   tests/integ/*.c     build/test/integ/<name>, helper programs of the integration tests
#   fuzz/fuzz_*.c       build/fuzz/fuzz_<name>, one libFuzzer target each (clang)
#   bench/*.c           build/bench/<name>, one benchmark program each
#   bench/harness/*.c   build/strom-bench, the benchmark harness against the peers (docs/bench.md)
#
# Variants: BUILD=dir puts a build elsewhere; SAN=1 adds ASan+UBSan; CC=clang builds with clang.

CC ?= cc
BUILD ?= build
SAN ?=
OPT ?= -O2

CFLAGS_WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wpointer-arith -Wvla
CFLAGS_ALL := -std=c17 -D_GNU_SOURCE -g $(CFLAGS_WARN) -Iinclude -Isrc -MMD -MP
ifeq ($(SAN),1)
OPT := -O1
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
override CFLAGS := $(CFLAGS_ALL) $(OPT) $(SANFLAGS) $(CFLAGS)
LDFLAGS += $(SANFLAGS) -rdynamic
LDLIBS := -lzstd -llz4 -lsnappy -lz -luring -lm

LIB_SRC := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
BASE_SRC := $(shell find src/base -name '*.c' | sort)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
GEN_TOOL_SRC := $(sort $(wildcard tools/gen/*.c))
SIM_TOOL_SRC := $(sort $(wildcard tools/sim/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
INTEG_SRC := $(sort $(wildcard tests/integ/*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
HARNESS_SRC := $(sort $(wildcard bench/harness/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJ := $(call obj,$(LIB_SRC))
BASE_OBJ := $(call obj,$(BASE_SRC))
LIB := $(BUILD)/libstrom.a
STROM := $(BUILD)/strom
GEN_TOOL := $(BUILD)/strom-gen
SIM_TOOL := $(BUILD)/strom-sim
UNIT := $(BUILD)/test/unit
INTEG_BIN := $(patsubst tests/integ/%.c,$(BUILD)/test/integ/%,$(INTEG_SRC))
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
HARNESS := $(BUILD)/strom-bench

.PHONY: all unit integ benches test fuzz fuzz-smoke fuzz-build gen gen-check format format-check \
        clean bench bench-store bench-base bench-quick demo bench-node bench-peers sim sim-plants

all: $(STROM) $(GEN_TOOL) $(SIM_TOOL)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(STROM): $(call obj,$(CLI_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(GEN_TOOL): $(call obj,$(GEN_TOOL_SRC)) $(BASE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(SIM_TOOL): $(call obj,$(SIM_TOOL_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- the simulator (docs/simulation.md) ----------------------------------------------------------
# `make sim SEEDS=N` runs seeds 1..N on JOBS cores. `make sim-plants` builds strom-sim with the
# planted bugs (-DSTROM_SIM_PLANTS, objects of its own in build/plants/; never in build/strom).
SEEDS ?= 1000
JOBS ?= 2
PLANTS_BUILD := $(BUILD)/plants

sim: $(SIM_TOOL)
	$(SIM_TOOL) --seeds 1-$(SEEDS) --jobs $(JOBS)

sim-plants:
	$(MAKE) BUILD=$(PLANTS_BUILD) CFLAGS=-DSTROM_SIM_PLANTS $(PLANTS_BUILD)/strom-sim

unit: $(UNIT)
$(UNIT): $(call obj,$(UNIT_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

integ: $(INTEG_BIN) $(STROM)
$(BUILD)/test/integ/%: $(BUILD)/obj/tests/integ/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/test/integ/kafka_group: LDLIBS += -lrdkafka

benches: $(BENCH_BIN) $(STROM) $(if $(HARNESS_SRC),$(HARNESS))
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(HARNESS): $(call obj,$(HARNESS_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ -lnats -lhiredis -lrdkafka -lpthread $(LDLIBS)

# --- code generation ---------------------------------------------------------------------------
# src/gen/ is committed; `make gen` rewrites it from schema/*.ssim, `make gen-check` fails when
# the committed files differ from what the generator writes now.
SCHEMA := $(sort $(wildcard schema/*.ssim))

gen: $(GEN_TOOL)
	$(GEN_TOOL) --out src/gen $(SCHEMA)

gen-check: $(GEN_TOOL)
	@tmp=$$(mktemp -d) && $(GEN_TOOL) --out $$tmp $(SCHEMA) && \
	if diff -r -u src/gen $$tmp; then echo "gen-check: src/gen matches schema/"; rm -rf $$tmp; \
	else echo "gen-check: src/gen differs from schema/ (run make gen)"; rm -rf $$tmp; exit 1; fi

# --- fuzzing (clang, libFuzzer, ASan+UBSan) ---------------------------------------------------
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 $(CFLAGS_WARN) -Iinclude -Isrc -MMD -MP \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC))
FUZZ_BIN := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# Every target for FUZZ_SECONDS each; corpora grow in fuzz/corpus/<target>/.
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/corpus/$$n 2>&1 \
	    | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

# --- tests, benchmarks ---------------------------------------------------------------------------
test:
	@scripts/test.sh

bench-store: $(BUILD)/bench/bench_store
	$(BUILD)/bench/bench_store

bench-base: $(BUILD)/bench/bench_base
	$(BUILD)/bench/bench_base

# The node beside the machine's floors (loopback TCP, fdatasync), one run (bench/bench_node.c).
bench-node: $(BUILD)/bench/bench_node $(STROM)
	$(BUILD)/bench/bench_node --strom $(STROM)

# strom beside NATS JetStream and Redis Streams (docs/bench.md): the standard suite (under 10
# minutes; bench-peers is its old name), the same with short durations (under 2 minutes), and a
# perf profile of the node under one workload (scripts/profile.sh). The micro-benchmarks of
# bench/*.c run apart, in bench-micro (scripts/bench.sh).
bench bench-peers: $(STROM) $(HARNESS)
	@scripts/bench-peers.sh

.PHONY: bench-micro bench-profile
bench-micro: benches
	@scripts/bench.sh

bench-profile: $(STROM) $(HARNESS)
	@scripts/profile.sh $(PROFILE_ARGS)

bench-quick: $(STROM) $(HARNESS)
	@scripts/bench-peers.sh --quick

# The node on real data: replays the Beijing air-quality data (DATA=folder), checks, restarts.
DATA ?= ../shared/data/beijing-air
demo:
	@scripts/deps.sh
	@$(MAKE) -s -j2 all
	@DATA="$(DATA)" DEMO_DIR="$(DEMO_DIR)" scripts/demo.sh

# --- formatting ----------------------------------------------------------------------------------
FORMAT_SRC = $(shell find src tools tests fuzz bench include -name '*.[ch]' ! -path 'src/gen/*' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format-check: clean"

clean:
	rm -rf $(BUILD)

SHELL := /bin/bash
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
