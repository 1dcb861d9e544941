# The walkthrough of "Container Primitives - Linux Namespaces", in nsh: every
# command of the article, in order. Run as root:
#
#   deno run -A cli.ts run examples/seed_walkthrough.nsh
#   deno run -A cli.ts export examples/seed_walkthrough.nsh  # the same, as TypeScript
#
# The article changes the host as it goes (a namespace bound in /tmp, a veth
# pair and a name in /run/netns). Here those steps run in contexts made for
# them, with a mount namespace of their own and a tmpfs over /tmp or /run, so
# the host's network, /run and mounts stay as they were: `exit` ends them.

# Unshare: a program in a new network namespace sees only a loopback
# interface, and it is down.
unshare --net ip addr

# A new PID namespace with a /proc of its own: ps sees itself as PID 1, and
# nothing else. (nsh always forks; --fork is accepted for the article's sake.)
unshare --pid --mount-proc --fork ps aux

# Nsenter: bind a namespace to a file, and it outlives its last process; any
# later process can join it through the file. Here /tmp is a tmpfs of a
# context's own, so the binding is made and undone where the host cannot see.
unshare --mount
# Programs start in the context's working directory: / is not under /tmp.
cd /
mount -t tmpfs tmpfs /tmp
touch /tmp/mynetnamespace
unshare --net=/tmp/mynetnamespace true
nsenter --net=/tmp/mynetnamespace ip addr add 127.0.0.123/24 dev lo
# The address is still there for the next process that joins.
nsenter --net=/tmp/mynetnamespace ip addr
release /tmp/mynetnamespace
rm /tmp/mynetnamespace
exit

# ip netns keeps such files in /run/netns: netns add makes one, the veth
# pair's second end moves into it, and netns exec runs a program there. The
# context has its own network namespace (the veth pair is made there, not on
# the host) and a tmpfs on /run (the name is made there, not in the host's
# /run/netns). nsh's netns and iproute2's ip netns read the same files.
unshare --mount --net
mount -t tmpfs tmpfs /run
netns add mynamespace
ip link add veth0 type veth peer name veth1
ip link set veth1 netns mynamespace
netns exec mynamespace ip addr
exit

# Lsns lists namespaces and the processes in them. In a context with its own
# PID namespace and /proc it sees only the context's processes: here its
# holder alone (PID 1, which keeps the namespaces alive between commands).
# nsh runs lsns in its own process, reading the context's /proc, so lsns
# itself is not among them, as it is when util-linux lsns runs there.
unshare --pid --mount --net --fork
mount-proc
lsns -t net
exit

# Breaking out: root in a new network namespace is still root, and the host's
# network namespace is one setns away, through /proc/PID/ns/net of any process
# that is in it. The article uses PID 1, which some machines protect; $$ (this
# shell, on the host) is as good a door. Only more than namespaces closes it:
# a user namespace, dropped capabilities, seccomp.
readlink /proc/self/ns/net
unshare --net
readlink /proc/self/ns/net
nsenter --net=/proc/$$/ns/net readlink /proc/self/ns/net
nsenter --net=/proc/$$/ns/net echo We are now in the default network namespace!
exit
