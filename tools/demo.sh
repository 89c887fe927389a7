#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make demo without Linux guests (tools/demo.py runs this where QEMU or the
# guest's kernel cannot be had): four KVM domains share one simcp coprocessor under the credit
# scheduler with weights 1:1:2:4, each running the hash workload for 10 s
# (every result checked in the guest against its own software hash; each
# job carries 10 ms of device-only compute in 2.5 ms commands, so the
# device is the bottleneck however slow the guests' CPUs are).  vcoprocd
# prints a per-domain table every second and a final summary, and exits
# non-zero when a domain fails or a share measured over the time every
# domain was busy is more than 3% (relative) off its weight's share.
#
# Where KVM cannot be used, it says why and runs the same four domains as
# builtin domains instead: vcoprocd's own workload threads drive simcp0
# with the native driver (device-only compute), under the same scheduler
# and the same 3% check - everything but the VMs.
#
# usage: tools/demo.sh [BUILD_DIR]
set -u
build=${1:-build}
vcoprocd=$build/host/vcoprocd
hash=$build/guest/hash.elf
job="size=4K bufs=16 compute=10ms chunk=2500us"

if [ ! -f "$hash" ]; then
	why="the guest images are not built here (Meson option kvm_host: Linux on x86-64 with linux/kvm.h)"
elif why=$("$vcoprocd" --probe 2>&1); then
	echo "demo: 4 domains on KVM share simcp0 under credit, weights 1:1:2:4, hash for 10 s"
	exec "$vcoprocd" --algo credit --seconds 10 --interval 1 --check-shares 3% \
		--domain "kernel=$hash,name=d1,memory=16,weight=256,cmdline=$job" \
		--domain "kernel=$hash,name=d2,memory=16,weight=256,cmdline=$job" \
		--domain "kernel=$hash,name=d3,memory=16,weight=512,cmdline=$job" \
		--domain "kernel=$hash,name=d4,memory=16,weight=1024,cmdline=$job"
fi
echo "demo: KVM IS NOT USABLE HERE: $why"
echo "demo: 4 builtin domains (no VMs) share simcp0 under credit, weights 1:1:2:4, for 10 s"
b="kernel=builtin:compute,cmdline=seconds=10"
exec "$vcoprocd" --algo credit --seconds 10 --interval 1 --check-shares 3% \
	--domain "$b,name=d1,weight=256" --domain "$b,name=d2,weight=256" \
	--domain "$b,name=d3,weight=512" --domain "$b,name=d4,weight=1024"
