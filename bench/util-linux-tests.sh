#!/bin/sh
# Runs util-linux's own regression tests for unshare and nsenter against nsh,
# through util-linux's harness (tests/run.sh): its command variables
# TS_CMD_UNSHARE and TS_CMD_NSENTER point at wrappers that run this checkout's
# cli.ts. The tests of getino, lsfd and lsns that call unshare run too (with
# util-linux's own getino, lsfd and lsns).
#
# Usage: bench/util-linux-tests.sh UTIL_LINUX_SOURCE [BUILD_DIR]
#
# UTIL_LINUX_SOURCE is a checkout of util-linux (nothing of it is copied into
# nsh). BUILD_DIR (default UTIL_LINUX_SOURCE/build) is a meson build; when it
# is missing it is set up and the helpers the tests need are built, which
# needs gcc, meson, ninja, bison and flex (Debian: apt-get install meson
# bison flex). Run as root: the tests that need root skip themselves
# otherwise. Nothing here reaches the network.
#
# Set NSH_CLI to test another cli.ts. The harness prints OK, FAILED (with a
# diff) or SKIPPED for each test and sub-test.
set -eu

src=${1:?usage: $0 UTIL_LINUX_SOURCE [BUILD_DIR]}
build=${2:-$src/build}
here=$(cd "$(dirname "$0")/.." && pwd)
cli=${NSH_CLI:-$here/cli.ts}

if [ ! -f "$build/meson.conf" ] && [ ! -f "$build/build.ninja" ]; then
	# util-linux's version comes from git, or from .tarball-version in a copy.
	[ -d "$src/.git" ] || [ -f "$src/.tarball-version" ] || echo "2.42-devel" >"$src/.tarball-version"
	meson setup "$build" "$src" -Dbuild-python=disabled -Dprogram-tests=true >/dev/null
fi
ninja -C "$build" test_sigreceive test_strerror test_mkfds getino lsfd lsns >/dev/null

wrappers=$(mktemp -d /tmp/nsh-util-linux-XXXXXX)
trap 'rm -rf "$wrappers"' EXIT
for command in unshare nsenter; do
	printf '#!/bin/sh\nexec %s run -A %s %s "$@"\n' "$(command -v deno)" "$cli" "$command" >"$wrappers/$command"
	chmod 755 "$wrappers/$command"
done

cd "$src"
TS_CMD_UNSHARE="$wrappers/unshare" TS_CMD_NSENTER="$wrappers/nsenter" \
	TS_CMD_RUNUSER="${TS_CMD_RUNUSER:-$(command -v runuser || echo runuser)}" \
	tests/run.sh --builddir="$build" --parallel=1 --show-diff \
	unshare nsenter getino lsfd/mkfds-cdev-tun lsns/ioctl_ns
