#!/bin/sh
# Open MPI's launch agent for the namespace cluster (cluster.sh), in place of
# ssh: `rsh_agent.sh <cluster dir> <host> <command line...>` runs the command
# line with /bin/sh inside the host's namespaces, with the environment a fresh
# ssh login would have (PATH, HOME, nothing else): what a rank needs must come
# through mpirun (-x), as on a real cluster.
#
# Like an ssh client, the agent stays on the calling host until the remote
# command ends, and learns that it ended over the "connection" (here a status
# file the remote side writes when it finishes), not from the death of a
# process: when the remote host is lost (its processes killed, its link cut),
# the agent goes on waiting, as ssh does on a dead TCP connection, and mpirun
# must notice the loss itself, as it would on a real cluster.
dir=$1 host=$2
shift 2
pidfile=$dir/$host.pid
if [ ! -f "$pidfile" ]; then
  echo "rsh_agent.sh: no host named '$host' in the cluster at $dir" >&2
  exit 255
fi
keeper=$(cat "$pidfile")
if ! kill -0 "$keeper" 2>/dev/null; then
  echo "ssh: connect to host $host port 22: No route to host (rsh_agent.sh: the host is down)" >&2
  exit 255
fi
status=$dir/agent.$$.status
rm -f "$status"
nsenter -t "$keeper" --net --mount --uts --wd=/ -- \
  env -i PATH="$PATH" HOME="${HOME:-/root}" LOGNAME=root USER=root \
  /bin/sh -c '/bin/sh -c "$1"; echo $? >"$2.tmp" && mv "$2.tmp" "$2"' rsh_agent "$*" "$status" &
trap 'kill $! 2>/dev/null; exit 255' INT TERM
while [ ! -f "$status" ]; do sleep 0.05; done
rc=$(cat "$status")
rm -f "$status"
exit "$rc"
