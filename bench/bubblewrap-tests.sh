#!/bin/bash
# Runs bubblewrap's own tests against `nsh bwrap`: tests/test-run.sh,
# test-specifying-userns.sh, test-specifying-pidns.sh and test-seccomp.py of
# a checkout of containers/bubblewrap, with BWRAP pointing at a wrapper that
# runs this checkout's cli.ts (`exec -a "$0" deno run -A cli.ts bwrap "$@"`,
# so that the usage line names the wrapper, as bubblewrap names itself). As
# root, and as the unprivileged user nobody (with a copy of what it needs
# that it can read: Deno, nsh, the tests).
#
# Usage: bench/bubblewrap-tests.sh BUBBLEWRAP_SOURCE [root|nobody|both] [BWRAP]
#
# BUBBLEWRAP_SOURCE is a checkout of bubblewrap (nothing of it is copied into
# nsh); its helper tests/try-syscall.c is built with gcc into a temporary
# directory. BWRAP (default: the nsh wrapper) runs the same tests against
# another bwrap, such as bubblewrap's own build, for comparison.
#
# test-run.sh stops at its first failure (set -e). It runs twice: as it is,
# then from a copy made here in a temporary directory where a failure marks
# its case "not ok" and the cases after it still run (the ERR trap and
# fatal() record the failure instead of exiting). The totals are of that
# second run. test-seccomp.py needs python3 and its seccomp module (Debian:
# python3-seccomp); it skips itself otherwise. Nothing here reaches the
# network.
set -u

src=$(cd "${1:?usage: $0 BUBBLEWRAP_SOURCE [root|nobody|both] [BWRAP]}" && pwd)
who=${2:-both}
here=$(cd "$(dirname "$0")/.." && pwd)
deno=$(command -v deno)
work=$(mktemp -d /tmp/nsh-bubblewrap-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/build/tests" "$work/bin"
gcc -o "$work/build/tests/try-syscall" "$src/tests/try-syscall.c" || exit 1

# What nobody reads: the tests, Deno and nsh, copied where it can.
cp -r "$src/tests" "$work/tests"
mkdir -p "$work/nsh"
for entry in mod.ts cli.ts deno.json deno.lock lib ffi cli; do
	[ -e "$here/$entry" ] && cp -r "$here/$entry" "$work/nsh/"
done
cp "$(readlink -f "$deno")" "$work/bin/deno"
mkdir -p "$work/home"
chmod -R a+rX "$work"
chown nobody: "$work/home" 2>/dev/null

if [ -n "${3:-}" ]; then
	bwrap=$3
else
	bwrap=$work/bin/bwrap
	printf '#!/bin/bash\nexec -a "$0" %s run -A --quiet %s bwrap "$@"\n' "$work/bin/deno" "$work/nsh/cli.ts" >"$bwrap"
	chmod 755 "$bwrap"
fi

# The tolerant copy of test-run.sh: after its own helpers are defined (and
# libtest.sh, which sets -e again), a failure records itself and ok() reports
# the case as "not ok".
tolerant=$work/tests/test-run-tolerant.sh
awk '
	/^set -xeuo pipefail$/ { print "set -xuo pipefail"; print "set -E"; next }
	/^# Test help$/ {
		print "set +e"
		print "nsh_failed=0"
		print "trap '"'"'nsh_failed=1'"'"' ERR"
		print "fatal () { echo \"$@\" 1>&2; nsh_failed=1; }"
		print "assert_not_reached () { fatal \"$@\"; }"
		print "ok () { test_count=$((test_count + 1)); if [ \"$nsh_failed\" = 1 ]; then echo not ok $test_count \"$@\"; else echo ok $test_count \"$@\"; fi; nsh_failed=0; }"
	}
	{ print }
' "$src/tests/test-run.sh" >"$tolerant"
chmod 755 "$tolerant"

run_as() {
	user=$1
	shift
	if [ "$user" = root ]; then
		env HOME=/root BWRAP="$bwrap" G_TEST_SRCDIR="$work" G_TEST_BUILDDIR="$work/build" "$@"
	else
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$work/home" \
			DENO_DIR="$work/home/deno" NO_COLOR=1 LANG=C.UTF-8 \
			BWRAP="$bwrap" G_TEST_SRCDIR="$work" G_TEST_BUILDDIR="$work/build" "$@"
	fi
}

summary() {
	log=$1
	ok=$(grep -cE '^ok [0-9]+ ' "$log")
	skip=$(grep -cE '^ok [0-9]+ # SKIP' "$log")
	notok=$(grep -cE '^not ok [0-9]+' "$log")
	echo "  $((ok - skip)) passed, $skip skipped, $notok failed"
	grep -E '^not ok [0-9]+' "$log" | sed 's/^/    /'
}

for user in root nobody; do
	[ "$who" = both ] || [ "$who" = "$user" ] || continue
	echo "== as $user"
	cd "$work/home" || exit 1
	echo "test-run.sh, as it is:"
	run_as "$user" timeout 900 bash "$work/tests/test-run.sh" >"$work/strict-$user.log" 2>&1
	echo "  exit status $?, last case passed: $(grep -E '^ok [0-9]+' "$work/strict-$user.log" | tail -1)"
	echo "test-run.sh, each case on its own:"
	run_as "$user" timeout 900 bash "$tolerant" >"$work/tolerant-$user.log" 2>&1
	summary "$work/tolerant-$user.log"
	for t in test-specifying-userns.sh test-specifying-pidns.sh; do
		echo "$t:"
		run_as "$user" timeout 300 bash "$work/tests/$t" >"$work/$t-$user.log" 2>&1
		status=$?
		grep -E '^(not )?ok' "$work/$t-$user.log" | sed 's/^/  /'
		[ $status = 0 ] || { echo "  exit status $status:"; tail -5 "$work/$t-$user.log" | sed 's/^/    /'; }
	done
	echo "test-seccomp.py:"
	run_as "$user" timeout 600 /usr/bin/python3 "$work/tests/test-seccomp.py" >"$work/seccomp-$user.log" 2>&1
	echo "  exit status $?: $(grep -E '^(OK|FAILED|Ran)' "$work/seccomp-$user.log" | tr '\n' ' ')"
	grep -E '^(FAIL|ERROR):' "$work/seccomp-$user.log" | sed 's/^/    /'
	if [ -n "${NSH_BWRAP_KEEP_LOGS:-}" ]; then
		mkdir -p "$NSH_BWRAP_KEEP_LOGS"
		cp "$work"/*.log "$NSH_BWRAP_KEEP_LOGS/"
	fi
done
