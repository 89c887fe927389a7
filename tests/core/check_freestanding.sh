#!/bin/sh
# SPDX-License-Identifier: MIT
# The freestanding image of core + schedulers (core/freestanding) must be a
# static image importing nothing: no libc, no dynamic loader.
set -e
img="$1"
undefined=$(nm -u "$img")
if [ -n "$undefined" ]; then
	echo "core reaches outside os.h: undefined symbols:" >&2
	echo "$undefined" >&2
	exit 1
fi
if readelf -l "$img" | grep -q INTERP; then
	echo "core image asks for a dynamic loader" >&2
	exit 1
fi
for sym in vc_fw_create vc_coproc_register vc_sched_lookup vc_coproc_trace_export; do
	nm "$img" | grep -q " T $sym\$" || { echo "missing $sym in image" >&2; exit 1; }
done
echo "freestanding core image: $(size "$img" | tail -1 | awk '{print $1+$2+$3}') bytes, no imports"
