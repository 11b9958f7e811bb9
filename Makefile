# Everyday commands; CMake does the building.
#   make demo   build, then run the bundled example (the main job)
#   make test   build with internal asserts and run every test (CTest)
#   make asan   the whole suite under AddressSanitizer + UBSan
#   make valgrind  the whole suite under valgrind memcheck
#   make bench  optimized build, then the side-by-side benchmarks
#   make install PREFIX=/usr/local

BUILD    ?= build
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake
CTEST    ?= ctest
WERROR   ?= OFF

.PHONY: all build demo test asan valgrind bench install clean

all: build

build:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCGC_ASSERTS=ON -DRCGC_WERROR=$(WERROR) >/dev/null
	$(CMAKE) --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/examples/demo
	@echo
	sh examples/profile_demo.sh $(BUILD)

test: build
	cd $(BUILD) && $(CTEST) --output-on-failure -j $(JOBS)

asan:
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRCGC_ASSERTS=ON -DRCGC_SANITIZE=ON -DRCGC_BUILD_BENCH=OFF -DRCGC_WERROR=$(WERROR) >/dev/null
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 $(CTEST) --output-on-failure -j $(JOBS)

valgrind:
	$(CMAKE) -S . -B build-vg -DCMAKE_BUILD_TYPE=Debug -DRCGC_ASSERTS=ON -DRCGC_BUILD_BENCH=OFF \
	  "-DCMAKE_CROSSCOMPILING_EMULATOR=valgrind;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite;--quiet" >/dev/null
	$(CMAKE) --build build-vg -j $(JOBS)
	cd build-vg && $(CTEST) --output-on-failure -j $(JOBS) -LE novalgrind

bench:
	$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	$(CMAKE) --build build-release -j $(JOBS)
	./build-release/bench/bench_alloc
	./build-release/bench/bench_gc
	./build-release/bench/bench_types
	./build-release/bench/bench_capture
	./build-release/bench/bench_hash
	@if [ -x build-release/bench/bench_trace ]; then ./build-release/bench/bench_trace; fi

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-vg build-release
