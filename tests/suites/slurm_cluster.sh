#!/bin/bash
# A real one-node Slurm cluster on localhost for the Slurm executor's test (test_suite_slurm.cpp)
# and for measuring it by hand: munged, slurmctld and slurmd from the Debian packages (munge,
# slurmctld, slurmd, slurm-client; scripts/install-deps), every file below DIR, ports of its own.
#
#   slurm_cluster.sh start DIR   start the daemons; prints SLURM_CONF=DIR/slurm.conf when the node is idle
#   slurm_cluster.sh stop DIR    stop exactly the daemons this script started (the pids it recorded)
#
# Needs root (slurmd runs jobs as their user; munged runs as user munge) and no systemd.
# Clients then need SLURM_CONF=DIR/slurm.conf (sbatch, squeue, scontrol, scancel).
#
# Scheduling: batch_sched_delay=0 (Slurm's default is 3 s) lets a job whose `afterok` dependency
# just ended start about 1 s later instead of about 3 s (measured here: a chain of 6 trivial jobs,
# each `afterok` the previous one, 6.0 s vs 18.1 s), most of the executor's fixed cost on a tiny
# suite (docs/cluster.md "Overhead").
# MEDSYN_SLURM_SCHEDULER_PARAMETERS replaces the line, e.g. "sched_min_interval=100000" for Slurm's
# default delay.
set -euo pipefail

cmd=${1:?usage: slurm_cluster.sh start|stop DIR}
dir=${2:?usage: slurm_cluster.sh start|stop DIR}

stop() {
  # Only the pids recorded at start; each daemon's own pid file would name the same process.
  for name in slurmd slurmctld munged; do
    f="$dir/pids/$name.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: slurm_cluster.sh start|stop DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "slurm_cluster.sh: needs root" >&2; exit 3; }
for b in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$b" >/dev/null || { echo "slurm_cluster.sh: $b not found (apt-get install munge slurmctld slurmd slurm-client)" >&2; exit 3; }
done

dir=$(realpath -m "$dir")
mkdir -p "$dir"/{munge,state,spool,log,pids}
chmod 755 "$dir"
# munge: a key of 1024 random bytes, owned by munge, mode 0400; socket, pid and log below DIR.
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chown -R munge: "$dir/munge"
chmod 711 "$dir/munge"  # munged: the socket folder must be searchable by all
chmod 400 "$dir/munge/munge.key"
runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
for _ in $(seq 50); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.1; done
cp "$dir/munge/munged.pid" "$dir/pids/munged.pid"

host=$(hostname -s)
port=$((20000 + $$ % 20000))
mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
cat > "$dir/slurm.conf" <<EOF
ClusterName=medsyntest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SchedulerType=sched/builtin
SchedulerParameters=${MEDSYN_SLURM_SCHEDULER_PARAMETERS-sched_min_interval=100000,batch_sched_delay=0}
MinJobAge=600
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" -i
for _ in $(seq 100); do [ -s "$dir/slurmctld.pid" ] && break; sleep 0.1; done
cp "$dir/slurmctld.pid" "$dir/pids/slurmctld.pid"
slurmd -f "$SLURM_CONF" -N "$host"
for _ in $(seq 100); do [ -s "$dir/slurmd.pid" ] && break; sleep 0.1; done
cp "$dir/slurmd.pid" "$dir/pids/slurmd.pid"
# Ready when the node is idle (slurmd registered).
for _ in $(seq 300); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.1
done
echo "slurm_cluster.sh: the node did not become idle (state '$state'); logs in $dir/log" >&2
tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
stop
exit 1
