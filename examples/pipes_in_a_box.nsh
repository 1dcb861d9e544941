# sh's language inside a box: a private /srv, files written by redirections
# as the box sees them, a pipeline, a loop, a function and a condition.
# Runs as any user: deno run -A cli.ts run examples/pipes_in_a_box.nsh

unshare -Ur --pid --mount --mount-proc
mount -t tmpfs tmpfs /srv
cd /srv

count() { grep -c "$1" "$2"; }

for n in 1 2 3; do
  echo "request $n ok" >> access.log
done
echo "request 4 failed" >> access.log

echo "ok: $(count ok access.log), failed: $(count failed access.log)"
echo "PID 1 is $(ps -o comm= -p 1)"
if [ "$(id -u)" = 0 ]; then
  echo "root in the box, $(ls /srv | wc -l) file in its /srv"
fi
