#!/bin/sh
# SPDX-License-Identifier: MIT
# The freestanding image of core + schedulers (core/freestanding) must be a
# static image importing nothing: no libc, no dynamic loader.  The image is
# linked with the whole archive, so every object is in it; each object of
# the archive is also checked on its own: what it leaves undefined must be
# defined by another object of the core, or be part of the os.h interface
# (vc_os_*) or one of the four memory functions GCC requires of any
# freestanding environment.
#
# usage: check_freestanding.sh IMAGE [ARCHIVE OS_H]
set -e
img="$1"
lib="$2"
os_h="$3"
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
if [ -n "$lib" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# The os.h interface, read from the header itself.
	grep -o '\bvc_os_[a-z_]*(' "$os_h" | tr -d '(' > "$tmp/allowed"
	printf '%s\n' memcpy memmove memset memcmp >> "$tmp/allowed"
	nm --defined-only -P "$lib" 2>/dev/null | awk 'NF >= 2 && $2 ~ /^[TDBRVWtdbrvw]$/ { print $1 }' >> "$tmp/allowed"
	sort -u -o "$tmp/allowed" "$tmp/allowed"
	# "member:" lines, then that member's undefined symbols.
	nm -u -A -P "$lib" | awk '{ sub(/:$/, "", $1); print $1, $2 }' | sort -u > "$tmp/needed"
	bad=$(awk 'NR == FNR { ok[$1] = 1; next } !($2 in ok) { print "  " $1 ": " $2 }' \
		"$tmp/allowed" "$tmp/needed")
	if [ -n "$bad" ]; then
		echo "core objects reach outside os.h:" >&2
		echo "$bad" >&2
		exit 1
	fi
	echo "freestanding core archive: $(ar t "$lib" | wc -l) objects, each within os.h"
fi
echo "freestanding core image: $(size "$img" | tail -1 | awk '{print $1+$2+$3}') bytes, no imports"
