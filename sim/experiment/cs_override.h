/* --set key=value: an override of one key of a loaded experiment file,
 * on the command line (docs/design.md §4). */
#ifndef CS_OVERRIDE_H
#define CS_OVERRIDE_H

#include "cs_experiment.h"

/* Applies one "key=value" override (value may be a list or a range; key a
 * bare key or section.key): the key's values are replaced, its place in
 * the expansion order kept (a key the file does not give comes after the
 * file's), and "; --set key=value" is appended to the config text. Errors
 * name the --set ("--set depth=0: key 'depth': expected ..."). CS_EINVAL
 * or CS_ENOMEM; e is unchanged on error. */
int cs_override_apply(cs_experiment *e, const char *assignment);

#endif
