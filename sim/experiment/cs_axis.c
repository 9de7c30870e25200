/* Sweep axes: lists and integer ranges of one parameter's values (see
 * cs_axis.h; docs/design.md §4). */
#include "cs_axis.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_text.h"

/* Makes room for n more values, doubling the capacity so that a list of
 * many items costs O(n) copies, not O(n^2). */
static int cs_axis_grow(cs_axis *axis, size_t n)
{
    if (n > CS_AXIS_MAX || axis->count > CS_AXIS_MAX - n)
        return cs_error_set(CS_EINVAL, "more than %d values", CS_AXIS_MAX);
    if (axis->count + n <= axis->cap)
        return CS_OK;
    size_t cap = axis->cap ? axis->cap : 4;
    while (cap < axis->count + n)
        cap *= 2; /* <= 2 CS_AXIS_MAX */
    cs_param_value *grown = cs_realloc_n(axis->values, sizeof *grown, cap);
    if (!grown)
        return CS_ENOMEM;
    axis->values = grown;
    axis->cap = cap;
    return CS_OK;
}

/* A range lo..hi of an integer parameter (item is the whole item, its
 * "..": dots), appended to the axis. */
static int cs_axis_parse_range(cs_axis *axis, const cs_param *param, char *item, char *dots)
{
    char whole[256];
    snprintf(whole, sizeof whole, "%s", item);
    *dots = '\0';
    char *lo_text = cs_text_trim(item), *hi_text = cs_text_trim(dots + 2);
    if (!*lo_text || !*hi_text || strstr(hi_text, ".."))
        return cs_error_set(CS_EINVAL, "expected a range a..b of integers, got '%s'", whole);
    cs_param_value lo, hi;
    int rc = cs_param_parse(param, lo_text, &lo);
    if (rc == CS_OK)
        rc = cs_param_parse(param, hi_text, &hi);
    if (rc != CS_OK)
        return rc;
    /* Seeds compare as unsigned; the integer parameters are >= 0. */
    int is_seed = param->type == CS_PARAM_U64;
    uint64_t ulo = is_seed ? lo.u : (uint64_t)lo.i, uhi = is_seed ? hi.u : (uint64_t)hi.i;
    if (ulo > uhi)
        return cs_error_set(CS_EINVAL, "range '%s..%s' is empty (expected a..b with a <= b)",
                            lo_text, hi_text);
    if (uhi - ulo >= CS_AXIS_MAX)
        return cs_error_set(CS_EINVAL, "range '%s..%s' has more than %d values", lo_text,
                            hi_text, CS_AXIS_MAX);
    size_t n = (size_t)(uhi - ulo) + 1;
    if ((rc = cs_axis_grow(axis, n)) != CS_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (is_seed)
            axis->values[axis->count + i].u = ulo + i;
        else
            axis->values[axis->count + i].i = (long long)(ulo + i);
    }
    axis->count += n;
    return CS_OK;
}

/* One item of a list (trimmed, non-empty): a value or a range. */
static int cs_axis_parse_item(cs_axis *axis, const cs_param *param, char *item)
{
    char *dots = strstr(item, "..");
    int integer = param->type == CS_PARAM_INT || param->type == CS_PARAM_U64;
    if (dots && integer)
        return cs_axis_parse_range(axis, param, item, dots);
    if (dots && param->type == CS_PARAM_REAL)
        return cs_error_set(CS_EINVAL,
                            "ranges a..b are for integer keys; write a list (a, b, c), got '%s'",
                            item);
    cs_param_value v;
    int rc = cs_param_parse(param, item, &v);
    if (rc == CS_OK)
        rc = cs_axis_grow(axis, 1);
    if (rc != CS_OK)
        return rc;
    axis->values[axis->count++] = v;
    return CS_OK;
}

int cs_axis_parse(cs_axis *axis, const cs_param *param, const char *text)
{
    memset(axis, 0, sizeof *axis);
    size_t len = strlen(text);
    char *copy = cs_malloc(len + 1);
    if (!copy)
        return CS_ENOMEM;
    memcpy(copy, text, len + 1);
    char expected[256];
    int rc = CS_OK;
    if (!*cs_text_trim(copy)) {
        cs_param_expected(param, expected, sizeof expected);
        rc = cs_error_set(CS_EINVAL, "key '%s': empty value (expected %s)", param->name,
                          expected);
        goto done;
    }
    for (char *item = copy;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *t = cs_text_trim(item);
        if (!*t) {
            rc = cs_error_set(CS_EINVAL, "key '%s': empty item in the list '%s'", param->name,
                              text);
            break;
        }
        rc = cs_axis_parse_item(axis, param, t);
        if (rc == CS_EINVAL)
            rc = cs_error_prefix(CS_EINVAL, "key '%s'", param->name);
        if (rc != CS_OK || !comma)
            break;
        item = comma + 1;
    }
done:
    cs_free(copy);
    if (rc != CS_OK)
        cs_axis_clear(axis);
    return rc;
}

void cs_axis_clear(cs_axis *axis)
{
    cs_free(axis->values);
    memset(axis, 0, sizeof *axis);
}
