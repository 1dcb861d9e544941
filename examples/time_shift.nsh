# A time-shifted process: in a new time namespace the boot-time clock (and so
# the uptime in /proc/uptime) runs a day ahead and the monotonic clock an hour
# ahead, while the wall clock is the host's. Runs as any user:
#
#   deno run -A cli.ts run examples/time_shift.nsh

# The host's uptime, in seconds.
cat /proc/uptime
unshare --user --map-root-user --time --boottime 86400 --monotonic 3600
# 86400 seconds more.
cat /proc/uptime
exit
