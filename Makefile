# The README's two commands:
#   make demo   installs what is missing, builds (Release), runs the main job end to end
#   make test   installs what is missing, builds, runs the whole default test suite
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DSTITCH_WERROR=ON

.PHONY: deps format-check configure build demo test test-all test-asan test-tsan bench clean

deps:
	bash scripts/install-deps.sh

# Every tracked C++ file as .clang-format makes it (seconds; runs before the build).
format-check: deps
	bash scripts/check-format.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD_DIR)

# Default tiers: unit and learn. `make test-all` adds the slow tier.
test: format-check build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE slow

test-all: format-check build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Sanitizer tiers, each in its own build directory (a full build each, ~15 min on 2 cores):
#   test-asan  AddressSanitizer + UndefinedBehaviorSanitizer over the unit tier
#   test-tsan  ThreadSanitizer over the code that runs threads (thread pool, vector envs, fused
#              updates on two tasks, trainers with --threads 2)
# Reports of uninstrumented libraries (libtorch, OpenBLAS, libhdf5) are suppressed in
# tests/sanitizers/; anything in stitch's own code fails the test.
# No -Werror here: GCC 12 reports false maybe-uninitialized warnings inside std::regex and
# std::function under -fsanitize=address.
SAN_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTITCH_WERROR=OFF -DSTITCH_BUILD_BENCH=OFF -DSTITCH_BUILD_PYTHON=OFF
test-asan: format-check
	cmake -S . -B build-asan $(SAN_FLAGS) -DSTITCH_SANITIZE=address,undefined
	ASAN_OPTIONS=$(ASAN_OPTS) UBSAN_OPTIONS=$(UBSAN_OPTS) cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=$(ASAN_OPTS) UBSAN_OPTIONS=$(UBSAN_OPTS) \
	  ctest --output-on-failure -j $(JOBS) -L unit

test-tsan: format-check
	cmake -S . -B build-tsan $(SAN_FLAGS) -DSTITCH_SANITIZE=thread
	TSAN_OPTIONS="$(TSAN_OPTS)" cmake --build build-tsan -j $(JOBS) --target core_tests env_tests algo_tests stream_tests
	cd build-tsan && TSAN_OPTIONS="$(TSAN_OPTS)" \
	  ctest --output-on-failure -j $(JOBS) -L unit -R '$(TSAN_TESTS)'
# Leak checking is off: libtorch and libhdf5 keep allocations for the life of the process.
ASAN_OPTS = detect_leaks=0:detect_container_overflow=0:halt_on_error=1
UBSAN_OPTS = halt_on_error=1:print_stacktrace=1
TSAN_OPTS = halt_on_error=1 suppressions=$(CURDIR)/tests/sanitizers/tsan.supp
TSAN_TESTS = ThreadPool|VectorEnv|Fused|Trainer|OnlineTrainer|StreamTrainer|Runtime|Finetune

bench: build
	$(BUILD_DIR)/stitch bench env

clean:
	rm -rf $(BUILD_DIR)
