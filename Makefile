# The README's two commands:
#   make demo   installs what is missing, builds (Release), runs the main job end to end
#   make test   installs what is missing, builds, runs the whole default test suite
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DSTITCH_WERROR=ON

.PHONY: deps format-check configure build demo test test-all bench clean

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

bench: build
	$(BUILD_DIR)/stitch bench env

clean:
	rm -rf $(BUILD_DIR)
