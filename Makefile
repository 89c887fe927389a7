# SPDX-License-Identifier: MIT
# The two set-up commands (README): `make demo` and `make check`.  Both
# install missing Debian packages with apt-get when run as root, configure
# the meson build in build/, build, and run.

BUILD      ?= build
MESON_OPTS ?=
DEB_PKGS   := meson ninja-build gcc pkg-config python3 libcmocka-dev linux-libc-dev \
              libfdt-dev device-tree-compiler libjson-c-dev clang libclang-rt-dev

.PHONY: all deps build demo check bench clean distclean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; \
		fi; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The main job: four KVM domains sharing one simcp under credit 1:1:2:4,
# hash for 10 s (tools/demo.sh; the simulator's demo where KVM is unusable).
demo: build
	tools/demo.sh $(BUILD)

check: build
	@status=0; \
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 || status=$$?; \
	python3 tools/test-summary.py $(BUILD)/meson-logs/testlog.json || status=1; \
	exit $$status

bench: build
	$(BUILD)/bench/bench-sched
	@if [ -x $(BUILD)/bench/bench-kvm ]; then $(BUILD)/bench/bench-kvm; \
	else echo "bench-kvm: skipped: not built (Meson option kvm_host disabled)"; fi

clean:
	-ninja -C $(BUILD) clean

distclean:
	rm -rf $(BUILD)
