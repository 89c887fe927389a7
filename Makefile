# SPDX-License-Identifier: MIT
# The two set-up commands (README): `make demo` and `make check`.  Both
# install missing Debian packages with apt-get when run as root, configure
# the meson build in build/, build, and run.

BUILD      ?= build
MESON_OPTS ?=
DEB_PKGS   := meson ninja-build gcc pkg-config python3 libcmocka-dev linux-libc-dev libssl-dev \
              libfdt-dev device-tree-compiler libjson-c-dev clang libclang-rt-dev \
              libxen-dev
# For the e2e suite where KVM is missing or unusable: run it inside a
# software-emulated VM with nested KVM (tools/kvm-vm/, docs/kvm-host.md).
# Installed like the others when root; without them those tests skip.
DEB_PKGS_VM := qemu-system-x86 busybox-static

.PHONY: all deps build demo demo-sim check bench clean distclean kvm-vm

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
	python3 tools/test-summary.py $$logs || status=1; \
	exit $$status

bench: build
	$(BUILD)/bench/bench-sched
	@if [ -x $(BUILD)/bench/bench-fair ]; then $(BUILD)/bench/bench-fair; else echo "bench-fair: skipped: not built (platform_simcp disabled)"; fi
	@if [ -x $(BUILD)/bench/bench-switch ]; then $(BUILD)/bench/bench-switch; else echo "bench-switch: skipped: not built (platform_simcp disabled)"; fi
	@if [ -x $(BUILD)/bench/bench-kvm ]; then $(BUILD)/bench/bench-kvm; \
	else echo "bench-kvm: skipped: not built (Meson option kvm_host disabled)"; fi
	python3 bench/bench_virtio.py $(BUILD)

clean:
	-ninja -C $(BUILD) clean

distclean:
	rm -rf $(BUILD)
