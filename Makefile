# Loupe's one entry point: drives CMake/CTest. `make example` and `make test` do all
# set-up on a fresh machine (README.md); `make check` is the fast inner loop.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
EXAMPLE_DIR ?= $(BUILD)/example

.PHONY: all deps build asan example test check style fuzz clean

all: build

deps:
	@tools/install-deps

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLOUPE_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# Until the review pipeline exists, the main job is a generated model: inspected, then asked
# for one rubric-shaped finding under the JSON-Schema constraint (its words are noise: random weights).
EXAMPLE_MODEL = $(EXAMPLE_DIR)/gemma4-tiny-q8_0.gguf
example: deps build
	mkdir -p $(EXAMPLE_DIR)
	$(BUILD)/loupe gen-model --preset gemma4-tiny --type q8_0 --seed 1 -o $(EXAMPLE_MODEL)
	$(BUILD)/loupe inspect $(EXAMPLE_MODEL)
	$(BUILD)/loupe run -m $(EXAMPLE_MODEL) --json-schema tests/data/schemas/finding.json --seed 1 \
	    -n 400 -p 'Review this headline against the brand: "Spring Sale: 40% off everything"'

style:
	/usr/bin/python3 tools/check_style.py

check: build
	ctest --test-dir $(BUILD) -L unit --output-on-failure -j$(JOBS)

# The tokenizer parity test runs the real Gemma vocabulary's JavaScript tokenizer.
node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

test: deps style build asan node_modules
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --test-dir $(ASAN_BUILD) -L sanitize --output-on-failure -j$(JOBS)

# Fuzzing campaigns (not part of `make test`): FUZZ_TIME seconds per target.
FUZZ_TIME ?= 60
FUZZ_TARGETS = gguf grammar manifest zip image av
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLOUPE_SANITIZE=ON -DLOUPE_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t && \
	    $(FUZZ_BUILD)/tests/fuzz_$$t -max_total_time=$(FUZZ_TIME) $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t \
	    || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) node_modules
