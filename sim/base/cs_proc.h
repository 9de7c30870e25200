/* Which process holds a claimed run (docs/design.md §3: several processes on one
 * machine share a sweep): a process is named by host, pid and start, so a
 * pid the kernel gave to a new process after the holder died is not taken
 * for the holder. Linux: the start is read from /proc. */
#ifndef CS_PROC_H
#define CS_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest host name or start text kept, with its NUL. */
#define CS_PROC_TEXT_MAX 128

typedef struct {
    char host[CS_PROC_TEXT_MAX];  /* uname's nodename */
    int64_t pid;
    char start[CS_PROC_TEXT_MAX]; /* "BOOT_ID/TICKS": the kernel's boot id and the
                                     process's start in clock ticks since boot
                                     (field 22 of /proc/PID/stat) */
} cs_proc_id;

/* This process: host, getpid() and its start. Never fails; a start that
 * cannot be read is "unknown/0", which no live process matches. */
void cs_proc_self(cs_proc_id *out);

/* What a holder recorded as (host, pid, start) is now. */
typedef enum {
    CS_PROC_GONE,    /* exited, a zombie, its pid reused, the machine rebooted,
                        or no holder recorded (host or start NULL, pid <= 0) */
    CS_PROC_ALIVE,   /* the same process is running on this host */
    CS_PROC_SELF,    /* the calling process */
    CS_PROC_UNKNOWN  /* another host: its processes cannot be seen from here */
} cs_proc_state;

cs_proc_state cs_proc_holder_state(const char *host, int64_t pid, const char *start);

/* The start text of process pid ("BOOT_ID/TICKS", as cs_proc_id.start):
 * CS_OK, or CS_ENOTFOUND when pid is not a live process (none, or a
 * zombie). */
int cs_proc_start_of(pid_t pid, char *start, size_t size);

#endif
