/* Shards of a sweep (docs/design.md §8, docs/cluster.md): which shard a
 * run belongs to (a fixed function of its run_key and the shard count),
 * which shard this process is (--shard K/N, or the job array or launcher
 * rank that Slurm, Open MPI or a PMI launcher puts in the environment),
 * and a shard's default database name. */
#ifndef CS_SHARD_H
#define CS_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "cs_params.h"

/* Most shards of one sweep: a sweep has at most CS_AXIS_MAX runs. */
#define CS_SHARD_MAX 1000000

/* This process's shard: index in 0..count-1; count 0 or 1 is the whole
 * sweep. source says where it came from, for messages ("--shard 3/8",
 * "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=8"); "" for none. */
typedef struct {
    int index, count;
    char source[256];
} cs_shard;

/* The shard of a run whose run_key, read as the 64-bit number its 16 hex
 * digits write, is key: Lamping and Veach's jump consistent hash of key
 * into count buckets ("A Fast, Minimal Memory, Consistent Hash Algorithm",
 * 2014). It depends on nothing but key and count, so a run keeps its
 * shard whatever the order of the sweep, and whatever runs are added to
 * it; going from count to count + 1 shards moves only the runs that land
 * in the new last shard (about 1 in count + 1). count >= 1; returns
 * 0..count-1. The function is part of the results' contract: a test pins
 * its values. */
int cs_shard_of_key(uint64_t key, int count);

/* cs_shard_of_key of a run_key as text (16 hex digits): 0..count-1, or -1
 * when run_key is not 16 hex digits. */
int cs_shard_of_run_key(const char *run_key, int count);

/* The shard of run p (cs_params_run_key). */
int cs_shard_of_run(const cs_run_params *p, int count);

/* Parses "K/N" (decimal, 0 <= K < N <= CS_SHARD_MAX) into *out, source
 * "--shard K/N". CS_EINVAL saying what was expected otherwise. */
int cs_shard_parse(cs_shard *out, const char *text);

/* This process's shard from the environment, in this order:
 *  - SLURM_ARRAY_TASK_ID of a job array 0..N-1, N from
 *    SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/MAX (which must then
 *    say 0..N-1: a resubmission of some indices, --array=3,5, cannot tell
 *    N and is refused);
 *  - else the rank of an MPI launcher, OMPI_COMM_WORLD_RANK/SIZE (Open
 *    MPI) or PMI_RANK/PMI_SIZE (MPICH, Intel MPI, srun --mpi=pmi2), which
 *    must agree when both are set;
 *  - else SLURM_PROCID/SLURM_NTASKS inside an srun step (SLURM_STEP_ID
 *    set): a batch script has SLURM_PROCID=0 too, but it is one process,
 *    not task 0 of N.
 * The MPI ranks come before SLURM_PROCID because under mpirun in a Slurm
 * job SLURM_PROCID numbers the launcher's daemons (one per node), not the
 * ranks. None set: count 0. A variable that is not a decimal integer in
 * range, half of a pair, a rank >= its size, or variables that disagree
 * are CS_EINVAL, naming the variables and their values; nothing else is
 * read then. */
int cs_shard_from_env(cs_shard *out);

/* Keeps, in order and in place, the runs of runs[0..*nruns) in shard s
 * (all of them when s->count <= 1); *nruns becomes their number. */
void cs_shard_keep(const cs_shard *s, cs_run_params *runs, size_t *nruns);

/* The default database of experiment name: "results/NAME.db", or for a
 * shard (count > 1) "results/NAME.shard-K-of-N.db" with K padded with
 * zeros to as many digits as N ("results/x.shard-007-of-200.db"), so that
 * a listing sorts by shard. */
void cs_shard_db_name(char *buf, size_t size, const char *name, const cs_shard *s);

#endif
