#!/bin/sh
# Runs util-linux's own lsns tests (tests/ts/lsns) against nsh's lsns, through
# util-linux's harness (tests/run.sh), as root. The harness's TS_CMD_LSNS
# points at a wrapper that runs this checkout's cli.ts; the rest (lsfd,
# test_mkfds, test_sysinfo, unshare, mount) is util-linux's, built here.
#
#   tests/peers/util_linux_lsns.sh /path/to/util-linux   # a git checkout
#
# The tests add network namespaces and veth pairs: everything runs in a mount
# and network namespace of its own, with a tmpfs on /run, so the host's
# /run/netns and network stay as they are. NSH_LSNS=util-linux runs
# util-linux's own lsns instead, for comparison.
set -eu
ul=${1:?usage: $0 UTIL-LINUX-CHECKOUT}
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ul"
[ -f build/meson.conf ] || meson setup build -Dbuild-python=disabled -Dprogram-tests=true >/dev/null
ninja -C build lsns lsfd test_mkfds test_sysinfo mount umount unshare >/dev/null
wrapper=$(mktemp)
trap 'rm -f "$wrapper"' EXIT
printf '#!/bin/sh\nexec "%s" run -A --quiet "%s/cli.ts" lsns "$@"\n' "$(command -v deno)" "$here" >"$wrapper"
chmod +x "$wrapper"
if [ "${NSH_LSNS:-nsh}" = nsh ]; then export TS_CMD_LSNS="$wrapper"; fi
unshare --mount --net --propagation private sh -c \
  'mount -t tmpfs tmpfs /run && ip link set lo up && tests/run.sh --builddir=build --show-diff lsns'
