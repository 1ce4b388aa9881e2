# The two commands of the README: `make demo` and `make test`. Both run the set-up first.
JOBS ?= $(shell nproc)
BUILD_RELEASE := build/release
BUILD_DEV := build/dev

.PHONY: setup build build-dev demo test test-dev bench format clean

setup:
	@scripts/setup.sh

build: setup
	@cmake --preset release >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

build-dev: setup
	@cmake --preset dev >/dev/null
	@cmake --build $(BUILD_DEV) -j $(JOBS)

demo: build
	$(BUILD_RELEASE)/tools/lowp/lowp demo

test: build
	cd $(BUILD_RELEASE) && ctest --output-on-failure -j $(JOBS)

# Sanitizer build (ASan + UBSan) of the whole test suite except the exhaustive sweeps.
test-dev: build-dev
	cd $(BUILD_DEV) && ctest --output-on-failure -j $(JOBS) -LE exhaustive

bench: build
	@scripts/setup.sh --bench
	bench/run_all.sh

format:
	find src tools tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
