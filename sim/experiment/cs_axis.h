/* A sweep axis: the values an experiment file or a --set gives one run
 * parameter, as a list (a, b, c) whose items may be integer ranges a..b
 * (docs/design.md §4). */
#ifndef CS_AXIS_H
#define CS_AXIS_H

#include <stddef.h>

#include "cs_param.h"

/* Upper bound on the values of one axis and on the runs of a sweep: a typo
 * such as seed = 1..1000000000 must be an error, not an allocation of
 * 100 GB. */
#define CS_AXIS_MAX 1000000

typedef struct {
    cs_param_value *values; /* count values, cs_malloc'd */
    size_t count, cap;
} cs_axis;

/* Parses text, a whole value of param: items separated by commas, each a
 * value (cs_param_parse) or, for integer parameters, a range a..b
 * (inclusive, a <= b). On success *axis holds count >= 1 values (free with
 * cs_axis_clear); on error it is empty and the message reads "key 'depth':
 * ..." (the caller adds where). CS_EINVAL or CS_ENOMEM. */
int cs_axis_parse(cs_axis *axis, const cs_param *param, const char *text);

void cs_axis_clear(cs_axis *axis);

#endif
