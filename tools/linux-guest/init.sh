#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the Linux guest image (tools/linux-guest/linux-guest.py builds it).
#
# Loads the modules virtio_crypto and AF_ALG need (the transport's list,
# from $vcg_transport on the kernel command line: mmio or pci), waits for
# the virtio_crypto_aes_cbc driver, and runs /bin/afalg_test with the
# arguments that follow "--" on the kernel command line.  Progress and the
# test program's exit status go to the serial console as "vcoproc-guest:"
# lines, which the host reads; then the guest powers off.
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "vcoproc-guest: $*"; }
up() { read -r t _ < /proc/uptime; echo "$t"; }

say "init $(up)s"
list=/etc/modules-${vcg_transport:-mmio}
[ -f "$list" ] || { say "no module list $list"; list=/etc/modules-mmio; }
while read -r m; do
	insmod "/lib/modules/$(uname -r)/$m" || say "insmod $m failed"
done < "$list"
i=0
while ! grep -q '^driver *: virtio_crypto_aes_cbc$' /proc/crypto; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		say "no virtio_crypto_aes_cbc in /proc/crypto after 10 s"
		break
	fi
	sleep 0.1
done
say "modules $(up)s"

# The kernel passes words it does not know to /init too: afalg_test's
# arguments start after the word afalg_test (linux-guest.py puts it first
# after "--").
while [ $# -gt 0 ] && [ "$1" != afalg_test ]; do
	say "ignored kernel argument: $1"
	shift
done
[ $# -gt 0 ] && shift
/bin/afalg_test "$@"
status=$?
if [ $status != 0 ]; then
	# The kernel's log without register dumps (virtio-crypto-rsa's
	# self-test fails with QEMU's built-in backend: a WARNING, expected).
	say "kernel log (last 30 lines, without register dumps):"
	dmesg | grep -vE '(R[A-Z0-9]{2}|Code|[CDEFG]S|CR2): |\] +(\? |<|---)' |
		tail -n 30 | sed 's/^/vcoproc-guest: dmesg: /'
fi
say "done $(up)s"
say "exit $status"
poweroff -f
sleep 30
