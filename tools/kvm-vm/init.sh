#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the emulated VM's initramfs (tools/kvm-vm/kvm-vm.py builds it).
#
# Loads KVM (kvm, kvm_amd) and the 9p modules, mounts the machine's root
# read-only (9p tag "hostroot") with a tmpfs over /tmp (a source tree
# under /tmp kept visible) and the build tree read-write (9p tag "build")
# at its own path, chroots there and runs the
# command from /vm.conf.  Every step says so on the serial console with a
# "kvm-vm:" line: the host watches them to see progress (and to tell a
# boot that locked up), and reads the command's exit status from the last
# one.  Then it powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /vm.conf

say() { echo "kvm-vm: $*" > /dev/console; }
finish() {
	say "status $1"
	sync
	poweroff -f
	sleep 60
}

say "init $(cut -d' ' -f1 /proc/uptime)s"
for m in $VM_MODULES; do
	insmod "/modules/$m.ko" || say "insmod $m failed"
done
if [ ! -c /dev/kvm ]; then
	grep -q svm /proc/cpuinfo || say "no-kvm: the emulated CPU has no svm flag"
	say "no-kvm: /dev/kvm did not appear after loading kvm_amd"
	finish 77
fi
say "kvm ready $(cut -d' ' -f1 /proc/uptime)s"

R=/newroot
mkdir -p $R
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot $R ||
	{ say "error: cannot mount the host's root"; finish 2; }
# A source tree under /tmp stays visible through the tmpfs over /tmp.
case "$VM_SRC" in
/tmp/*) mkdir -p /src && mount --bind "$R$VM_SRC" /src ;;
esac
mount -t tmpfs -o mode=1777 tmp $R/tmp
case "$VM_SRC" in
/tmp/*) mkdir -p "$R$VM_SRC" && mount --move /src "$R$VM_SRC" ;;
esac
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/shm $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mkdir -p "$R$VM_BUILD" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 build "$R$VM_BUILD" ||
	{ say "error: cannot mount the build tree at $VM_BUILD"; finish 2; }
say "root mounted $(cut -d' ' -f1 /proc/uptime)s"

# The command's output goes to the console through a pipe (not a
# terminal: no progress bars); its status to the host.
mkfifo /out
cat /out > /dev/console &
chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/tmp LANG=C.UTF-8 VCOPROC_IN_VM=1 \
	/bin/sh -c "cd '$VM_BUILD' && exec $VM_COMMAND" < /dev/null > /out 2>&1
status=$?
wait
finish $status
