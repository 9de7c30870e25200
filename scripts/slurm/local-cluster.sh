#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for covshift's cluster tests
# and for trying the batch scripts (docs/cluster.md): munged, slurmctld
# and slurmd on localhost, everything (config, keys, state, logs, pid
# files) under one directory, so it touches nothing of a real cluster.
#
#   bash scripts/slurm/local-cluster.sh start [DIR]   # installs slurm-wlm and munge if missing
#   eval "$(bash scripts/slurm/local-cluster.sh env [DIR])"   # SLURM_CONF for sbatch, squeue, ...
#   bash scripts/slurm/local-cluster.sh status [DIR]
#   bash scripts/slurm/local-cluster.sh stop [DIR]
#
# DIR defaults to $COVSHIFT_SLURM_DIR, else /tmp/covshift-slurm. Needs
# root (slurmd runs jobs as their user, and the daemons run as root here).
# The daemons are stopped by the pid files they wrote, never by name, so
# another Slurm on the machine is left alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-${COVSHIFT_SLURM_DIR:-/tmp/covshift-slurm}}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the daemon whose pid file is $1: TERM, then up to 10 s, then KILL.
stop_pidfile() {
    local f=$1 pid
    [[ -s $f ]] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

write_config() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    # slurmd -C reports what it sees; keep a margin so the node is not drained
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cat >"$dir/slurm.conf" <<CONF
# Written by scripts/slurm/local-cluster.sh: a one-node cluster on $host.
ClusterName=covshift-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldPort=${COVSHIFT_SLURMCTLD_PORT:-6917}
SlurmdPort=${COVSHIFT_SLURMD_PORT:-6918}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MaxArraySize=10001
MinJobAge=600
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
    # slurmd reads cgroup.conf even with no cgroup plugin, and warns when it
    # is empty; nothing here uses cgroups (proctrack/linuxproc, task/none)
    echo "# Written by scripts/slurm/local-cluster.sh: no cgroup plugin is used." \
        >"$dir/cgroup.conf"
}

start() {
    [[ $(id -u) -eq 0 ]] || { echo "local-cluster: start needs root" >&2; exit 2; }
    CS_EXTRA_PACKAGES="slurm-wlm munge" bash "$here/../setup.sh"
    if pid_alive "$dir/slurmctld.pid"; then
        echo "local-cluster: already running in $dir" >&2
        return 0
    fi
    mkdir -p "$dir"/{munge,state,spool,log}
    chmod 0700 "$dir/munge"
    if [[ ! -s $dir/munge/munge.key ]]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
        chmod 0400 "$dir/munge/munge.key"
    fi
    write_config
    munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" --force
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    # ready when the node takes jobs
    for _ in $(seq 300); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            echo "local-cluster: running in $dir (export SLURM_CONF=$SLURM_CONF)"
            return 0
        fi
        sleep 0.1
    done
    echo "local-cluster: the node did not come up; logs in $dir/log:" >&2
    tail -n 20 "$dir"/log/*.log >&2 || true
    stop
    exit 1
}

stop() {
    stop_pidfile "$dir/slurmd.pid"
    stop_pidfile "$dir/slurmctld.pid"
    stop_pidfile "$dir/munge/munged.pid"
    echo "local-cluster: stopped ($dir)"
}

case $cmd in
start) start ;;
stop) stop ;;
env) echo "export SLURM_CONF='$dir/slurm.conf'" ;;
status)
    for d in munge/munged slurmctld slurmd; do
        if pid_alive "$dir/$d.pid"; then echo "$(basename $d): running (pid $(cat "$dir/$d.pid"))"
        else echo "$(basename $d): stopped"; fi
    done
    [[ -f $dir/slurm.conf ]] && SLURM_CONF=$dir/slurm.conf sinfo 2>/dev/null || true
    ;;
-h | --help | help) usage ;;
*) usage >&2; exit 2 ;;
esac
