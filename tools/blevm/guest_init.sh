#!/bin/sh
# Stage 2 of the blevm guest (PID 1, on the host's / shared read-only over 9p; see vm.py).
# Mounts tmpfs where the guest must write, starts the system D-Bus and bluetoothd, runs the job
# from the "out" share with its output on the console, stores its exit code there, powers off.
# Never returns: an init that exits panics the kernel, and panic=-1 + -no-reboot end QEMU anyway.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0700 tmpfs /var/lib/bluetooth  # bluetoothd stores adapter state here
mkdir -p /run/blevm /run/tmp /run/dbus
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /run/blevm
echo "blevm: stage 2 running on $(uname -r)"

finish() {
  echo "$1" > /run/blevm/rc
  sync
  umount /run/blevm 2>/dev/null
  echo "blevm: job exit code $1 at uptime $(cut -d" " -f1 /proc/uptime) s, powering off"
  echo 1 > /proc/sys/kernel/sysrq
  echo o > /proc/sysrq-trigger
  sleep 30
}

# /tmp stays the host's (the venv may live there) but is read-only: temporary files go to tmpfs.
export TMPDIR=/run/tmp HOME=/run/tmp PYTHONDONTWRITEBYTECODE=1
hostname blevm 2>/dev/null
# The loopback only (there is no network device): edge-dan run keeps its LAN network on it.
ip link set lo up

dbus-daemon --system --fork --nopidfile || finish 90
debug=""
[ -e /run/blevm/bluetoothd-debug ] && debug=--debug  # vm.py --bluetoothd-debug
# shellcheck disable=SC2086
/usr/libexec/bluetooth/bluetoothd --nodetach --noplugin=sap,hostname $debug \
  -f "$(dirname "$0")/bluetooth-main.conf" > /run/blevm/bluetoothd.log 2>&1 &

echo "blevm: job starts at uptime $(cut -d" " -f1 /proc/uptime) s"
sh /run/blevm/job.sh 2>&1
finish $?
