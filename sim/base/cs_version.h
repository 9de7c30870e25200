/* What this binary is: covshift's version, the source revision it was
 * built from and the compiler (docs/design.md §3 provenance). The revision
 * is read from git at every build, so it never goes stale after a rebuild,
 * and carries "-dirty" when the tree had uncommitted changes. */
#ifndef CS_VERSION_H
#define CS_VERSION_H

/* "0.1.0" */
const char *cs_version_number(void);
/* "41e3567a1b2c" or "41e3567a1b2c-dirty"; "unknown" outside a git tree. */
const char *cs_version_revision(void);
/* "GNU 12.2.0" */
const char *cs_version_compiler(void);
/* "0.1.0 (git 41e3567a1b2c)": number and revision, for --version. */
const char *cs_version_string(void);

#endif
