# Everyday commands; CMake does the building.
#   make demo   build, then run the bundled example (the main job)
#   make test   build with internal asserts and run every test (CTest)
#   make asan   the whole suite under AddressSanitizer + UBSan
#   make valgrind  the whole suite under valgrind memcheck
#   make tsan   the threaded tests under ThreadSanitizer, the shim's included
#   make bench  optimized build, then the side-by-side benchmarks
#   make install PREFIX=/usr/local   an optimized build, installed
#   make fuzz SECONDS=N   libFuzzer targets (clang), each run N seconds (fuzz/)
#   make coverage  the whole suite with gcc --coverage: line and branch figures
# Each first installs the Debian packages it needs that are missing
# (tools/setup-deps.sh: apt-get as root or through sudo; RCGC_SETUP=skip
# turns that off).  CMAKE_FLAGS go to every configuration, e.g.
# CMAKE_FLAGS=-DRCGC_PROFILER=OFF to build without the profiler.

BUILD    ?= build
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake
CTEST    ?= ctest
WERROR   ?= OFF
CMAKE_FLAGS ?=
SETUP    = sh tools/setup-deps.sh
SECONDS  ?= 60
FUZZ_CC  ?= clang-14

# configure(dir, flags...): CMake's progress is quiet, its errors are not.
configure = $(CMAKE) -S . -B $(1) $(2) $(CMAKE_FLAGS) >/dev/null

.PHONY: all build demo test asan valgrind tsan bench release install clean fuzz coverage

all: build

build:
	@$(SETUP) build
	$(call configure,$(BUILD),-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCGC_ASSERTS=ON -DRCGC_WERROR=$(WERROR))
	$(CMAKE) --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/examples/demo
	@echo
	@if [ -x $(BUILD)/tools/rcgc/rcgc ]; then sh examples/profile_demo.sh $(BUILD); \
	else echo "(no profiler in this build: configured with -DRCGC_PROFILER=OFF)"; fi

test:
	@$(SETUP) build test
	@$(MAKE) --no-print-directory build RCGC_SETUP=skip
	cd $(BUILD) && $(CTEST) --output-on-failure -j $(JOBS)

asan:
	@$(SETUP) build test
	$(call configure,build-asan,-DCMAKE_BUILD_TYPE=Debug -DRCGC_ASSERTS=ON -DRCGC_SANITIZE=ON -DRCGC_BUILD_BENCH=OFF -DRCGC_WERROR=$(WERROR))
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 $(CTEST) --output-on-failure -j $(JOBS)

valgrind:
	@$(SETUP) build test valgrind
	$(call configure,build-vg,-DCMAKE_BUILD_TYPE=Debug -DRCGC_ASSERTS=ON -DRCGC_BUILD_BENCH=OFF \
	  "-DCMAKE_CROSSCOMPILING_EMULATOR=valgrind;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite;--quiet")
	$(CMAKE) --build build-vg -j $(JOBS)
	cd build-vg && $(CTEST) --output-on-failure -j $(JOBS) -LE novalgrind

# The tests labelled tsan (the shim's threads, exits, signals and forks;
# librcgc's tests that start threads) built with gcc's ThreadSanitizer, the
# preload shim and its test programs included (RCGC_TSAN; tools/preload/
# bootstrap.c, "TSan").  A report fails the test (TSan's exit status 66).
tsan:
	@$(SETUP) build test
	$(call configure,build-tsan,-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCGC_ASSERTS=ON -DRCGC_TSAN=ON -DRCGC_BUILD_BENCH=OFF -DRCGC_WERROR=$(WERROR))
	$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=second_deadlock_stack=1 $(CTEST) --output-on-failure -j $(JOBS) -L tsan

# The optimized build of the benchmarks.
release:
	@$(SETUP) build
	$(call configure,build-release,-DCMAKE_BUILD_TYPE=Release)
	$(CMAKE) --build build-release -j $(JOBS)

bench:
	@$(SETUP) build bench
	@$(MAKE) --no-print-directory release RCGC_SETUP=skip
	./build-release/bench/bench_alloc
	./build-release/bench/bench_gc
	./build-release/bench/bench_types
	./build-release/bench/bench_capture
	./build-release/bench/bench_hash
	@if [ -x build-release/bench/bench_trace ]; then ./build-release/bench/bench_trace; fi

# What is installed: the Release library (no internal asserts), shared and
# static, rcgc.h, the rcgc command and its shim, rcgc.pc and the CMake
# package; built on its own, without the tests and benchmarks.
install:
	@$(SETUP) build
	$(call configure,build-install,-DCMAKE_BUILD_TYPE=Release -DRCGC_BUILD_TESTS=OFF -DRCGC_BUILD_BENCH=OFF)
	$(CMAKE) --build build-install -j $(JOBS)
	$(CMAKE) --install build-install --prefix $(PREFIX)

# The whole project instrumented for libFuzzer, ASan and UBSan (needs
# clang-14 and libclang-rt-14-dev); fuzz/run.sh prints each target's figures.
fuzz:
	@$(SETUP) build fuzz
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs $(FUZZ_CC): apt-get install clang-14 libclang-rt-14-dev" >&2; exit 1; }
	$(call configure,build-fuzz,-DCMAKE_C_COMPILER=$(FUZZ_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DRCGC_ASSERTS=ON -DRCGC_FUZZ=ON -DRCGC_BUILD_TESTS=OFF -DRCGC_BUILD_BENCH=OFF)
	$(CMAKE) --build build-fuzz -j $(JOBS) --target fuzz_capture fuzz_cli fuzz_heap
	sh fuzz/run.sh build-fuzz $(SECONDS)

# gcc --coverage over the whole suite, reported by lcov (Debian: lcov) for
# src/, tools/ and include/ without test code; HTML in build-cov/html.
# exported_symbols is left out: --coverage exports gcov's own symbols.
coverage:
	@$(SETUP) build test fuzz
	@command -v lcov >/dev/null || { echo "make coverage needs lcov: apt-get install lcov" >&2; exit 1; }
	$(call configure,build-cov,-DCMAKE_BUILD_TYPE=Debug -DRCGC_ASSERTS=ON -DRCGC_COVERAGE=ON -DRCGC_BUILD_BENCH=OFF)
	$(CMAKE) --build build-cov -j $(JOBS)
	lcov --quiet --zerocounters --directory build-cov
	cd build-cov && $(CTEST) --output-on-failure -j $(JOBS) -E '^exported_symbols$$' || true
	lcov --quiet --capture --rc lcov_branch_coverage=1 --directory build-cov \
	  --output-file build-cov/all.info
	lcov --quiet --rc lcov_branch_coverage=1 --extract build-cov/all.info \
	  '$(CURDIR)/src/*' '$(CURDIR)/tools/*' '$(CURDIR)/include/*' --output-file build-cov/rcgc.info
	lcov --quiet --rc lcov_branch_coverage=1 --remove build-cov/rcgc.info '*/tests/*' \
	  '*/symtest_fixture.c' --output-file build-cov/rcgc.info
	genhtml --quiet --ignore-errors source --rc lcov_branch_coverage=1 \
	  --output-directory build-cov/html build-cov/rcgc.info
	lcov --rc lcov_branch_coverage=1 --summary build-cov/rcgc.info
	@echo "report: build-cov/html/index.html"

clean:
	rm -rf build build-asan build-vg build-tsan build-release build-install build-fuzz build-cov
