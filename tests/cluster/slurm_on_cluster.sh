# Sourced after cluster.sh: a real Slurm on the namespace cluster. One
# munged (its socket on the shared filesystem, which every host sees), one
# slurmctld on node1, one slurmd per host (NodeName=nodeK, NodeAddr=10.77.0.K,
# each with its own spool, pid file and log through slurm.conf's %n). Every
# daemon runs inside its host's namespaces and is stopped by cluster_down
# with the rest of the host's processes; munged by its PID.
#   slurm_up [SLURMD_TIMEOUT_S]  sets SLURM_CONF; exits 77 without Slurm
#   slurm_down                  stops munged (cluster_down stops the rest)

slurm_up() {
  local timeout=${1:-10} k
  for tool in munged slurmctld slurmd sbatch scontrol sinfo; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (launch/install_deps.sh)"; exit 77; }
  done
  local d=$CLUSTER_DIR/slurm
  mkdir -p "$d/munge" "$d/state" "$d/log"
  for k in $(seq "$CLUSTER_N"); do mkdir -p "$d/spool/node$k"; done
  chmod 700 "$d/munge"
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$d/munge/munge.key"
  munged --force --socket="$d/munge/socket" --key-file="$d/munge/munge.key" \
    --pid-file="$d/munge/pid" --log-file="$d/log/munged.log" --seed-file="$d/munge/seed"
  SLURM_MUNGED_PID=$(cat "$d/munge/pid")
  local cpus; cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
  {
    echo "ClusterName=distgru-ns"
    echo "SlurmctldHost=node1(10.77.0.1)"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "AuthInfo=socket=$d/munge/socket,cred_expire=5"
    echo "StateSaveLocation=$d/state"
    echo "SlurmdSpoolDir=$d/spool/%n"
    echo "SlurmctldPidFile=$d/slurmctld.pid"
    echo "SlurmdPidFile=$d/slurmd-%n.pid"
    echo "SlurmctldLogFile=$d/log/slurmctld.log"
    echo "SlurmdLogFile=$d/log/slurmd-%n.log"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "MpiDefault=pmix"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "SchedulerParameters=sched_interval=2"
    echo "JobRequeue=1"
    echo "ReturnToService=2"
    # A host that stops answering is marked DOWN after this many seconds
    # (default 300), so a requeued job is not placed on it again.
    echo "SlurmdTimeout=$timeout"
    echo "KillWait=5"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    for k in $(seq "$CLUSTER_N"); do
      echo "NodeName=node$k NodeAddr=10.77.0.$k CPUs=$cpus State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=node[1-$CLUSTER_N] Default=YES MaxTime=INFINITE State=UP"
  } >"$d/slurm.conf"
  export SLURM_CONF=$d/slurm.conf
  on_host 1 slurmctld -D -i -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
  disown $!
  for k in $(seq "$CLUSTER_N"); do
    on_host "$k" slurmd -D -N "node$k" -f "$SLURM_CONF" >"$d/log/slurmd-node$k.out" 2>&1 &
    disown $!
  done
  for _ in $(seq 120); do
    [[ $(on_host 1 sinfo -h -o '%T %D' 2>/dev/null | awk '$1 == "idle" { print $2 }') == "$CLUSTER_N" ]] && return 0
    sleep 0.5
  done
  echo "FAIL: the Slurm nodes did not come up"; on_host 1 sinfo 2>&1; tail -5 "$d"/log/*.log
  return 1
}

slurm_down() {
  [[ -n ${SLURM_MUNGED_PID:-} ]] && kill "$SLURM_MUNGED_PID" 2>/dev/null
  return 0
}
