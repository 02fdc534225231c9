# weft's entry points. `make run` builds and runs the demo; `make test` builds and runs every test.
BUILD     ?= build
ASAN      ?= build-asan
TSAN      ?= build-tsan
BENCHDIR  ?= build-bench
FUZZDIR   ?= build-fuzz
FUZZ_SECONDS ?= 60
CMAKE_GEN := -G Ninja
JOBS      ?= $(shell nproc)

.PHONY: run test sanitize tsan stress fuzz bench deps configure clean aarch64

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: $(BUILD)/build.ninja

run: deps configure
	cmake --build $(BUILD) --target weft_tool
	$(BUILD)/tools/weft/weft demo

test: deps configure
	cmake --build $(BUILD)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang 14).
sanitize: deps
	cmake -S . -B $(ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DWEFT_SANITIZE=address,undefined
	cmake --build $(ASAN)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -E '^compile_|^install_consumer$$'

# The whole test suite under ThreadSanitizer (clang 14): the parallel runtime, its queues and sync
# primitives, posts from other threads, servers on threads of their own in the HTTP tests.
tsan: deps
	cmake -S . -B $(TSAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DWEFT_SANITIZE=thread
	cmake --build $(TSAN)
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -E '^compile_|^install_consumer$$'
	# The parallel runtime's own suites again, ten times each: races show up in some interleavings only.
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) --repeat until-fail:10 \
	  -R '^(rt_workers|sync_primitives|parallel_work|.*_workers4)$$'

# Stress under chaos (scripts/stress.sh): the stress programs and the runtime suites on 2, 4 and 8
# workers, each with seeded scheduling perturbation (WEFT_CHAOS), under ThreadSanitizer, bounded in time.
stress: deps
	cmake -S . -B $(TSAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DWEFT_SANITIZE=thread
	cmake --build $(TSAN)
	scripts/stress.sh $(TSAN)

# The request-parser fuzz target under libFuzzer + ASan/UBSan (clang 14), for FUZZ_SECONDS, starting
# from a copy of tests/fuzz/corpus (libFuzzer adds what it finds to its first corpus directory).
fuzz: deps
	cmake -S . -B $(FUZZDIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DWEFT_FUZZ=ON -DWEFT_SANITIZE=address,undefined \
	  -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_TOOLS=OFF
	cmake --build $(FUZZDIR) --target request_parser_fuzz
	mkdir -p $(FUZZDIR)/corpus && cp tests/fuzz/corpus/* $(FUZZDIR)/corpus/
	$(FUZZDIR)/tests/request_parser_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(FUZZDIR)/corpus

# The model checker over weft's concurrency protocols (tests/model): builds only the checker and the
# models, runs each (bounded in time), and ends with `models: N passed, M failed`: first the protocols
# (weft_models), then whole runtimes built from the real sources (weft_runtime_models).
MODELDIR  ?= build-model
.PHONY: model
model: deps
	cmake -S . -B $(MODELDIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_MODEL_CHECK=ON \
	  -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_TOOLS=OFF
	cmake --build $(MODELDIR) --target weft_models weft_runtime_models
	timeout 300 $(MODELDIR)/tests/model/weft_models
	WEFT_MODEL_SECONDS=400 timeout 450 $(MODELDIR)/tests/model/weft_runtime_models

# Mutation testing of the models (scripts/mutants.py): known-bad edits of the real sources, each applied
# to a copy of the tree and rebuilt there; every one must make a model fail. Ends with
# `mutants: N caught, M missed` (non-zero exit on a miss).
MUTANTDIR ?= build-mutants
.PHONY: mutants
mutants: deps
	scripts/mutants.py $(MUTANTDIR)

# weft cross-built for aarch64 (Debian's cross g++, arm64 dev packages) and its unit and runtime suites run
# under qemu-user, on one loop and on 4 workers; installs what it needs, ends with `aarch64: OK` or FAILED.
aarch64:
	@scripts/cross-aarch64.sh

# Benchmarks against Boost.Asio in the same run; prints medians and ratios.
bench: deps
	@scripts/install-deps.sh bench
	cmake -S . -B $(BENCHDIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
	  -DWEFT_BUILD_TESTS=OFF
	cmake --build $(BENCHDIR)
	bench/run.sh $(BENCHDIR)

# A soak of `weft serve --threads 2` under good load and eight kinds of hostile client at once
# (bench/soak/run.sh; SOAK_MINUTES, default 5). Prints each figure; fails if one is missed.
.PHONY: soak
soak: deps configure
	cmake --build $(BUILD) --target weft_tool
	bench/soak/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) $(BENCHDIR)
