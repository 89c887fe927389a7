# SPDX-License-Identifier: MIT
# The two set-up commands (README): `make demo` and `make check`.  Both
# install missing Debian packages with apt-get when run as root, configure
# the meson build in build/, build, and run.

BUILD      ?= build
MESON_OPTS ?=
DEB_PKGS   := meson ninja-build gcc pkg-config python3 libcmocka-dev linux-libc-dev libssl-dev \
              libfdt-dev device-tree-compiler libjson-c-dev clang libclang-rt-dev \
              libxen-dev gnuplot-nox pocl-opencl-icd ocl-icd-opencl-dev opencl-c-headers
# For the e2e suite where KVM is missing or unusable: run it inside a
# software-emulated VM with nested KVM (tools/kvm-vm/, docs/kvm-host.md).
# Installed like the others when root; without them those tests skip.
DEB_PKGS_VM := qemu-system-x86 busybox-static

# The sanitizer build (make check, check-asan): the same sources with
# AddressSanitizer (LeakSanitizer at exit) and UndefinedBehaviorSanitizer.
# Through c_args rather than -Db_sanitize: b_sanitize would also reach the
# -static link of guest/linux/afalg_test, which ASan cannot link; with the
# flags in c_link_args that program's static-glibc probe fails and it is
# not built (the QEMU guest tests that need it are not run there anyway).
# Warnings are the main build's to check (-Werror there): GCC warns falsely
# on sanitized code (ctl_error_set()'s vsnprintf: "null format string").
BUILD_ASAN ?= $(BUILD)-asan
ASAN_MESON_OPTS := -Dc_args='-fsanitize=address,undefined -fno-omit-frame-pointer' \
                   -Dc_link_args=-fsanitize=address,undefined -Db_lundef=false -Dwerror=false
# Every report goes to a file under $(BUILD_ASAN)/sanitizer, so one from a
# daemon a test started fails the run even where the test ignores how that
# daemon exited (tools/test-log.py --reports).  A 32 MiB quarantine (the
# default is 256): tests bound their daemon's memory (ctl-hostile: 96 MiB
# of growth), and a use after free within the last 32 MiB freed is caught.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:fast_unwind_on_malloc=0:quarantine_size_mb=32:log_exe_name=1:log_path=$(abspath $(BUILD_ASAN))/sanitizer/asan \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_exe_name=1:log_path=$(abspath $(BUILD_ASAN))/sanitizer/ubsan \
           LSAN_OPTIONS=suppressions=$(abspath tools/lsan.supp):print_suppressions=0
# Suites the sanitizer build leaves out, and why:
#   e2e   KVM guests whose tests measure shares and interrupt timing (a
#         sanitized vcoprocd is slower: e2e-four-rr misses its shares), and
#         where KVM is missing the suite needs the emulated VM again (minutes)
#   fuzz  the fuzz targets are built with clang's ASan+UBSan in every build
#   load  vcoprocd-hogs: hang-reset latency bounds on a host whose every CPU
#         is busy on purpose; the sanitizer's slowdown is not what it measures
#   tools Python tests of Python tools: nothing compiled
# The QEMU guest tests of the virtio suite are not defined there (no
# afalg_test, above); virtio-crypto-hostile runs.
ASAN_NO_SUITES := e2e fuzz load tools
# The soak (tests/soak/soak.py): make soak runs it for SOAK_SECONDS; make
# check runs a short one in each build.
SOAK_SECONDS ?= 600
CHECK_SOAK_SECONDS ?= 40
CHECK_ASAN_SOAK_SECONDS ?= 20

.PHONY: all deps build demo demo-sim check check-asan soak bench clean distclean kvm-vm

all: build

deps:
	@missing=""; optional=""; \
	for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	for p in $(DEB_PKGS_VM); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || optional="$$optional $$p"; \
	done; \
	if [ -n "$$missing$$optional" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing$$optional"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq || exit 1; \
			if [ -n "$$missing" ]; then \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
			fi; \
			if [ -n "$$optional" ]; then \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$optional || \
				echo "note: could not install$$optional: the e2e suite skips where KVM is unusable"; \
			fi; \
		elif [ -n "$$missing" ]; then \
			echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing$$optional)"; exit 1; \
		else \
			echo "note: without$$optional the e2e suite skips where KVM is unusable (sudo apt-get install$$optional)"; \
		fi; \
	fi

# The emulated VM's kernel: Debian's linux-image-*-amd64, downloaded and
# unpacked into $(BUILD)/kvm-vm/linux once (make check does this itself
# when it needs the VM).
kvm-vm:
	python3 tools/kvm-vm/kvm-vm.py fetch $(BUILD)/kvm-vm

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The main job (tools/demo.py): Linux guests under QEMU (their own
# virtio_crypto driver, through vcoprocd's vhost-user backend) share one
# crypto engine with credit weights 1:2:4 - or, where KVM is usable, four
# KVM guests 1:1:2:4 and a Linux guest on the same engine; every result
# verified, shares within 3%.  demo-sim: the simulator's demo.
demo: build
	python3 tools/demo.py $(BUILD)

demo-sim: build
	$(BUILD)/sim/vcoproc-sim --algo credit --weights 1,2,4 --seconds 10 \
		--nonpreemptible 0.2 --check

# Where vcoprocd --probe finds KVM unusable (or VCOPROC_E2E_IN_VM=1), the
# e2e suite runs again inside the emulated VM (tools/kvm-vm/kvm-vm.py) and
# its results replace the skips; where that VM cannot run either, they
# stay skipped and the reason is printed.
check: build
	@status=0; logs=$(BUILD)/meson-logs/testlog.json; \
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 || status=$$?; \
	vcoprocd=$(BUILD)/host/vcoprocd; [ -x $$vcoprocd ] || vcoprocd=$(BUILD)/host/kvm/vcoprocd; \
	if [ -x $$vcoprocd ]; then \
		why=$$($$vcoprocd --probe); probe=$$?; \
		if [ $$probe != 0 ] || [ "$$VCOPROC_E2E_IN_VM" = 1 ]; then \
			[ $$probe != 0 ] && echo "e2e: $$why" || echo "e2e: VCOPROC_E2E_IN_VM=1"; \
			echo "e2e: running the e2e suite inside an emulated VM with nested KVM (tools/kvm-vm)"; \
			rm -f $(BUILD)/meson-logs/testlog-vm.json; \
			if python3 tools/kvm-vm/kvm-vm.py fetch $(BUILD)/kvm-vm; then \
				python3 tools/kvm-vm/kvm-vm.py run --quiet $(BUILD); vm=$$?; \
			else vm=77; echo "e2e: skipped: no kernel for the emulated VM"; fi; \
			if [ $$vm != 77 ]; then \
				logs="$$logs $(BUILD)/meson-logs/testlog-vm.json --rerun e2e"; \
				[ $$vm = 0 ] || status=1; \
			fi; \
		fi; \
	fi; \
	soak=$(BUILD)/meson-logs/testlog-soak.json; rm -f $$soak; \
	python3 tools/test-log.py $$soak soak --timeout $$(($(CHECK_SOAK_SECONDS) + 240)) -- \
		python3 tests/soak/soak.py $(BUILD) --seconds $(CHECK_SOAK_SECONDS) || status=1; \
	$(MAKE) --no-print-directory check-asan || status=1; \
	python3 tools/test-summary.py $$logs --add $$soak --add $(BUILD_ASAN)/meson-logs/testlog.json \
		--add $(BUILD_ASAN)/meson-logs/testlog-extra.json || status=1; \
	exit $$status

# The suite again in the sanitizer build (BUILD_ASAN), but ASAN_NO_SUITES,
# then a short soak there (LeakSanitizer checks vcoprocd at its exit) and
# the reports.  Its logs: testlog.json (meson) and testlog-extra.json (the
# soak and "sanitizer-reports"), which make check counts.
$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) $(MESON_OPTS) $(ASAN_MESON_OPTS)

check-asan: deps $(BUILD_ASAN)/build.ninja
	@status=0; logs=$(BUILD_ASAN)/meson-logs; rm -f $$logs/testlog.json $$logs/testlog-extra.json; \
	rm -rf $(BUILD_ASAN)/sanitizer; mkdir -p $(BUILD_ASAN)/sanitizer; \
	ninja -C $(BUILD_ASAN) || exit 1; \
	$(ASAN_ENV) meson test -C $(BUILD_ASAN) --no-rebuild --print-errorlogs --num-processes 2 \
		$(addprefix --no-suite ,$(ASAN_NO_SUITES)) || status=1; \
	$(ASAN_ENV) python3 tools/test-log.py $$logs/testlog-extra.json soak-asan \
		--timeout $$(($(CHECK_ASAN_SOAK_SECONDS) + 240)) -- \
		python3 tests/soak/soak.py $(BUILD_ASAN) --seconds $(CHECK_ASAN_SOAK_SECONDS) || status=1; \
	python3 tools/test-log.py $$logs/testlog-extra.json sanitizer-reports \
		--reports $(BUILD_ASAN)/sanitizer || status=1; \
	exit $$status

# A long soak of vcoprocd (tests/soak/soak.py): SOAK_SECONDS (default 600)
# of domains created and destroyed, algorithm and weight changes, control
# clients dropping mid-request; then RSS, fds and threads back, results
# verified, no reset.
soak: build
	python3 tests/soak/soak.py $(BUILD) --seconds $(SOAK_SECONDS)

# bench-pt and bench-kvm also leave JSON in $(BUILD)/bench/, from which
# bench/report.py writes $(BUILD)/bench/report.md with its plots (docs/bench.md).
bench: build
	@mkdir -p $(BUILD)/bench && rm -f $(BUILD)/bench/pt.json $(BUILD)/bench/kvm.json
	$(BUILD)/bench/bench-sched
	@if [ -x $(BUILD)/bench/bench-fair ]; then $(BUILD)/bench/bench-fair; else echo "bench-fair: skipped: not built (platform_simcp disabled)"; fi
	@if [ -x $(BUILD)/bench/bench-switch ]; then $(BUILD)/bench/bench-switch; else echo "bench-switch: skipped: not built (platform_simcp disabled)"; fi
	@if [ -x $(BUILD)/bench/bench-pt ]; then $(BUILD)/bench/bench-pt --json $(BUILD)/bench/pt.json; else echo "bench-pt: skipped: not built (platform_simcp disabled)"; fi
	@if [ -x $(BUILD)/bench/bench-opencl ]; then $(BUILD)/bench/bench-opencl; else echo "bench-opencl: skipped: not built (Meson option platform_opencl disabled)"; fi
	@if [ -x $(BUILD)/bench/bench-kvm ]; then $(BUILD)/bench/bench-kvm --json $(BUILD)/bench/kvm.json; \
	else echo "bench-kvm: skipped: not built (Meson option kvm_host disabled)"; fi
	python3 bench/report.py $(BUILD)
	python3 bench/bench_virtio.py $(BUILD)

clean:
	-ninja -C $(BUILD) clean

distclean:
	rm -rf $(BUILD) $(BUILD_ASAN)
