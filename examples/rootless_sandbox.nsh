# A rootless sandbox: an unprivileged user makes a user namespace (where it is
# root, and nobody else outside) and, owned by it, new PID, mount, UTS,
# network, IPC and cgroup namespaces. Runs as any user:
#
#   deno run -A cli.ts run examples/rootless_sandbox.nsh

unshare --user --map-root-user --pid --mount --uts --net --ipc --cgroup --fork
# A /proc that shows the new PID namespace, and a hostname of its own.
mount-proc
hostname box
hostname
# Root inside, the caller outside.
id
# Only the context's holder (PID 1) and ps itself.
ps -e -o pid,comm
# Only a loopback interface, down.
ip -brief link
# A filesystem of its own: the host never sees this tmpfs or its file.
mount -t tmpfs tmpfs /mnt
touch /mnt/hello
ls /mnt
exit
