#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the machine's initramfs: load the kernel's own modules, put the
# host's / (virtio-9p, read-only) under a tmpfs overlay, load KVM and hand
# over to the agent (or a shell on the console).  The helper machine
# (lispvm.mode=helper) also mounts the host's / read-write and coherent
# over the overlay's user directories, so that what a command writes there
# reaches the host, and what the host changes there is seen at once.
/bin/busybox mkdir -p /bin /proc /sys /dev
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
	echo "lispvm-test-machine: $*"
	poweroff -f
}

arg() {
	for word in $(cat /proc/cmdline); do
		case "$word" in "lispvm.$1="*) echo "${word#*=}" ;; esac
	done
}

mode=$(arg mode) agent=$(arg agent) pin=$(arg pin) port=$(arg port) token=$(arg token) cwd=$(arg cwd) cache=$(arg cache)

while read -r module; do
	# Some fail by design (crc32c-intel without SSE4.2); what matters is checked below.
	insmod "/modules/$module.ko" || echo "lispvm-test-machine: insmod $module failed"
done </modules/order

mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=1048576 hostroot /lower ||
	fail "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "cannot mount the overlay root"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
# /tmp, /run and /var/tmp stay the overlay's (no fresh tmpfs over them): a
# checkout, CI's clone say, and the agent's token may live in the host's /tmp.
mount -t binfmt_misc binfmt_misc /newroot/proc/sys/fs/binfmt_misc 2>/dev/null
# lispvm --jail puts root's VMMs in cgroups with limits.
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null
if [ "$mode" = helper ]; then
	# cache=mmap: reads and writes go to the host each time (coherent),
	# mmap (the VMM maps images) still works.
	mkdir -p /newroot/run/lispvm-machine
	mount -t tmpfs -o mode=0755 helper /newroot/run/lispvm-machine
	mkdir -p /newroot/run/lispvm-machine/host
	mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap,msize=1048576 hostrw \
		/newroot/run/lispvm-machine/host || fail "cannot mount the host's / read-write over 9p"
	# System directories stay the cached read-only overlay (fast, and
	# nothing there is the user's); every other top-level directory (/home,
	# /root, /tmp, /srv, a checkout's /work ...) is the host's own.
	for dir in /lower/* /lower/var/tmp; do
		name=${dir#/lower/}
		case "$name" in
		bin | boot | dev | etc | lib | lib32 | lib64 | libx32 | lost+found | proc | run | sbin | sys | usr | var) continue ;;
		esac
		[ -d "$dir" ] && [ ! -L "$dir" ] || continue
		mount --bind "/newroot/run/lispvm-machine/host/$name" "/newroot/$name" ||
			echo "lispvm-test-machine: cannot share /$name read-write"
	done
	# lispvm's cache with the page cache on: see tm_helper.py.
	if [ -n "$cache" ]; then
		mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=1048576 lispvmcache \
			"/newroot$cache" || echo "lispvm-test-machine: cannot mount lispvm's cache $cache"
	fi
fi

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

[ "$mode" = helper ] && hostname lispvm-machine || hostname lispvm-test-machine
[ -c /newroot/dev/kvm ] || fail "no /dev/kvm after loading kvm_amd (does the CPU offer SVM?)"
# As Debian's udev rules make it: the helper's lispvmd runs each caller's
# VMs as that caller.
[ "$mode" = helper ] && chmod 0666 /newroot/dev/kvm
# PYTHONDONTWRITEBYTECODE: the helper's checkout is the host's, read-write.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	PYTHONDONTWRITEBYTECODE=1
if [ "$mode" = shell ]; then
	exec switch_root /newroot /bin/sh -c \
		'cd "$1"; exec setsid -c bash -l </dev/ttyS0 >/dev/ttyS0 2>&1' sh "$cwd"
fi
[ -f "/newroot$token" ] || fail "cannot read the agent's token $token"
exec switch_root /newroot /usr/bin/python3 -u "$agent" "$port" "$token" "$pin" "$mode"
