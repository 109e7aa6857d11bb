#pragma once
/* One cgroup per instance: memory (no swap), pids and CPU weight. Works on
 * cgroup v1 (a hierarchy per controller) and on a unified cgroup v2 tree;
 * which one is detected at start and logged. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_version { CG_NONE = 0, CG_V1 = 1, CG_V2 = 2 };

typedef struct cgroup {
    char name[96]; /* relative to the daemon's parent cgroup */
    bool created;
    /* The peak memory file, open from the first reset on (valid only while
     * created): every call resets and reads it, and a path walk on cgroupfs
     * costs more than the rest of that; on v2 a reset holds only for reads
     * through the same open file. -1: not open. */
    int peak_fd;
} cgroup_t;

/* Detects the cgroup version (or takes `want`, if not CG_NONE), creates the
 * daemon's parent cgroup `parent` (e.g. "impuls/d-1234abcd") and removes what a
 * dead daemon of the same parent left there. root overrides /sys/fs/cgroup
 * (tests). Returns the version used, or CG_NONE with err set. */
enum cg_version cgroup_init(const char *root, const char *parent, enum cg_version want, char *err,
                            size_t errlen);
enum cg_version cgroup_version(void);
const char *cgroup_version_name(enum cg_version v);

int cgroup_create(cgroup_t *cg, const char *name, int memory_mb, int pids_max, int cpu_weight);
/* New limits for an existing cgroup (a pre-made sandbox being claimed). */
int cgroup_set_limits(const cgroup_t *cg, int memory_mb, int pids_max, int cpu_weight);
int cgroup_attach(const cgroup_t *cg, pid_t pid);
int64_t cgroup_peak_bytes(cgroup_t *cg);
void cgroup_reset_peak(cgroup_t *cg);
int cgroup_oom_kills(const cgroup_t *cg);
/* Kills whatever is left in the cgroup and removes it. */
int cgroup_destroy(cgroup_t *cg);
/* Counts instance cgroups under the daemon's parent (for tests and stats). */
int cgroup_count(void);
void cgroup_shutdown(void);
