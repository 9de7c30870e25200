/* Process identity for run claims (see cs_proc.h). */
#include "cs_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cs_error.h"

/* The kernel's boot id (a UUID, new at every boot), "unknown" if unreadable. */
static void cs_proc_boot_id(char *buf, size_t size)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f || !fgets(buf, (int)size, f) || !*buf)
        snprintf(buf, size, "unknown");
    else
        buf[strcspn(buf, "\n")] = '\0';
    if (f)
        fclose(f);
}

/* The state letter and start ticks of pid from /proc/PID/stat: after the
 * last ')' (the command name may hold spaces and parentheses) come field 3,
 * the state, and 19 fields later field 22, starttime (proc(5)). Returns 0,
 * or -1 with errno when the file cannot be read or parsed. */
static int cs_proc_stat(pid_t pid, char *state, unsigned long long *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c", state) != 1) {
        errno = EINVAL;
        return -1;
    }
    p += 2; /* the state */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) {
            errno = EINVAL;
            return -1;
        }
        p++;
    }
    char *end;
    *ticks = strtoull(p, &end, 10);
    if (end == p) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* cs_proc_start_of without an error message: 0, or -1 when pid is not live. */
static int cs_proc_start_raw(pid_t pid, char *start, size_t size)
{
    char state, boot[64];
    unsigned long long ticks;
    if (pid <= 0 || cs_proc_stat(pid, &state, &ticks) != 0 || state == 'Z' || state == 'X')
        return -1;
    cs_proc_boot_id(boot, sizeof boot);
    snprintf(start, size, "%s/%llu", boot, ticks);
    return 0;
}

int cs_proc_start_of(pid_t pid, char *start, size_t size)
{
    if (cs_proc_start_raw(pid, start, size) != 0)
        return cs_error_set(CS_ENOTFOUND, "no live process %lld", (long long)pid);
    return CS_OK;
}

static void cs_proc_host(char *buf, size_t size)
{
    struct utsname u;
    snprintf(buf, size, "%s", uname(&u) == 0 ? u.nodename : "unknown");
}

void cs_proc_self(cs_proc_id *out)
{
    cs_proc_host(out->host, sizeof out->host);
    out->pid = (int64_t)getpid();
    if (cs_proc_start_raw(getpid(), out->start, sizeof out->start) != 0)
        snprintf(out->start, sizeof out->start, "unknown/0");
}

cs_proc_state cs_proc_holder_state(const char *host, int64_t pid, const char *start)
{
    if (!host || !start || pid <= 0 || pid > (int64_t)INT32_MAX)
        return CS_PROC_GONE;
    cs_proc_id self;
    cs_proc_self(&self);
    if (strcmp(host, self.host) != 0)
        return CS_PROC_UNKNOWN;
    /* Another boot of this machine: every process of the old one is gone. */
    const char *slash = strchr(start, '/'), *self_slash = strchr(self.start, '/');
    if (!slash || !self_slash || slash - start != self_slash - self.start ||
        strncmp(start, self.start, (size_t)(slash - start)) != 0)
        return CS_PROC_GONE;
    if (pid == self.pid && strcmp(start, self.start) == 0)
        return CS_PROC_SELF;
    char now[CS_PROC_TEXT_MAX];
    if (cs_proc_start_raw((pid_t)pid, now, sizeof now) == 0)
        return strcmp(now, start) == 0 ? CS_PROC_ALIVE : CS_PROC_GONE; /* else: pid reused */
    /* No /proc entry: gone, unless /proc itself is missing, where kill(pid, 0)
     * can still tell a live pid (though not a reused one). */
    if (access("/proc/self/stat", R_OK) != 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
        return CS_PROC_ALIVE;
    return CS_PROC_GONE;
}
