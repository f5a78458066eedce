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

# The main job: the example packet (examples/spring-sale, media made by tools/make-example.sh)
# reviewed with a generated tiny Gemma 4 and its projector. Its findings are noise (random
# weights); point -m/--mmproj at a real Gemma 4 12B GGUF for real ones (README.md). The packet
# fails checks on purpose (variant B uses words the brand avoids), so review exits 1 there.
EXAMPLE_MODEL = $(EXAMPLE_DIR)/gemma4-tiny-q8_0.gguf
EXAMPLE_MMPROJ = $(EXAMPLE_DIR)/gemma4-tiny-mmproj.gguf
example: deps build
	mkdir -p $(EXAMPLE_DIR)
	tools/make-example.sh examples/spring-sale
	$(BUILD)/loupe gen-model --preset gemma4-tiny --type q8_0 --seed 1 -o $(EXAMPLE_MODEL) \
	    --mmproj $(EXAMPLE_MMPROJ)
	$(BUILD)/loupe review examples/spring-sale -m $(EXAMPLE_MODEL) --mmproj $(EXAMPLE_MMPROJ) \
	    -o $(EXAMPLE_DIR)/review --workspace $(EXAMPLE_DIR)/workspace; rc=$$?; \
	    [ $$rc -le 1 ] || exit $$rc
	$(BUILD)/loupe audit verify --workspace $(EXAMPLE_DIR)/workspace
	@echo "example: open $(EXAMPLE_DIR)/review/report.html"

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
