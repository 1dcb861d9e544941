# Two network namespaces joined by a veth pair, and a ping from one to the
# other. Everything happens inside a context with a user, mount and network
# namespace of its own: the pair is made in the context's network namespace,
# the names red and blue live on a tmpfs over the context's /run, and the
# traffic never leaves namespaces the script made. So it runs as any user
# (root inside a user namespace may do all this to the namespaces it owns):
#
#   deno run -A cli.ts run examples/veth_pair.nsh

unshare --user --map-root-user --mount --net
mount -t tmpfs tmpfs /run
netns add red
netns add blue
# A veth pair is a cable: what goes in one end comes out of the other.
ip link add veth-red type veth peer name veth-blue
ip link set veth-red netns red
ip link set veth-blue netns blue
netns exec red ip addr add 10.0.0.1/24 dev veth-red
netns exec blue ip addr add 10.0.0.2/24 dev veth-blue
netns exec red ip link set veth-red up
netns exec blue ip link set veth-blue up
netns exec red ping -c 1 -W 1 10.0.0.2
# Ending the context ends the namespaces, the names and the pair.
exit
