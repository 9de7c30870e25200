/* Version, revision and compiler of this build (cs_version.h). The values
 * come from cs_build_info.c, which the build rewrites when they change. */
#include "cs_version.h"

extern const char cs_build_version[];
extern const char cs_build_revision[];
extern const char cs_build_compiler[];
extern const char cs_build_string[];

const char *cs_version_number(void) { return cs_build_version; }
const char *cs_version_revision(void) { return cs_build_revision; }
const char *cs_version_compiler(void) { return cs_build_compiler; }
const char *cs_version_string(void) { return cs_build_string; }
