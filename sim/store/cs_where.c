/* Comparisons on run parameters from the command line (see cs_where.h). */
#include "cs_where.h"

#include <stdio.h>
#include <string.h>

#include "cs_error.h"
#include "cs_suggest.h"
#include "cs_text.h"

/* Longest first, so that "<=" is not read as "<" then "=value". */
static const struct {
    const char *text, *sql;
    cs_where_op op;
} cs_where_ops[] = {
    {"<=", "<=", CS_WHERE_LE}, {">=", ">=", CS_WHERE_GE}, {"!=", "IS NOT", CS_WHERE_NE},
    {"=", "=", CS_WHERE_EQ},   {"<", "<", CS_WHERE_LT},   {">", ">", CS_WHERE_GT},
};
#define CS_WHERE_NOPS (sizeof cs_where_ops / sizeof cs_where_ops[0])

static const char *cs_where_op_text(cs_where_op op, int sql)
{
    for (size_t i = 0; i < CS_WHERE_NOPS; i++)
        if (cs_where_ops[i].op == op)
            return sql ? cs_where_ops[i].sql : cs_where_ops[i].text;
    return "?";
}

int cs_where_parse(const char *text, cs_where *out)
{
    memset(out, 0, sizeof *out);
    char shown[CS_TEXT_ESCAPED_SIZE(256)];
    cs_text_escape(shown, sizeof shown, text);
    /* the operator: the first of its characters in the text */
    size_t at = strcspn(text, "=!<>");
    if (!text[at])
        return cs_error_set(CS_EINVAL,
                            "--where '%s': expected key OP value with OP one of = != < <= > >= "
                            "(e.g. --where batch=16)",
                            shown);
    size_t op = CS_WHERE_NOPS;
    for (size_t i = 0; i < CS_WHERE_NOPS && op == CS_WHERE_NOPS; i++)
        if (strncmp(text + at, cs_where_ops[i].text, strlen(cs_where_ops[i].text)) == 0)
            op = i;
    if (op == CS_WHERE_NOPS)
        return cs_error_set(CS_EINVAL, "--where '%s': expected one of = != < <= > >= after the key",
                            shown);
    char key_text[128], value_text[256];
    if (at >= sizeof key_text || strlen(text + at) >= sizeof value_text)
        return cs_error_set(CS_EINVAL, "--where '%s': the key or the value is too long", shown);
    memcpy(key_text, text, at);
    key_text[at] = '\0';
    snprintf(value_text, sizeof value_text, "%s", text + at + strlen(cs_where_ops[op].text));
    char *key = cs_text_trim(key_text), *value = cs_text_trim(value_text);
    char *dot = strchr(key, '.');
    const char *section = NULL;
    if (dot) {
        *dot = '\0';
        section = cs_text_trim(key);
        key = cs_text_trim(dot + 1);
    }
    const cs_param *param = cs_param_find(key);
    if (!param) {
        const char *names[CS_PARAM_MAX];
        for (size_t k = 0; k < cs_param_count; k++)
            names[k] = cs_param_table[k].name;
        const char *near = cs_suggest_nearest(key, names, cs_param_count);
        char key_shown[CS_TEXT_ESCAPED_SIZE(128)];
        cs_text_escape(key_shown, sizeof key_shown, key);
        if (near)
            return cs_error_set(CS_EINVAL, "--where '%s': unknown key '%s' (did you mean '%s'?)",
                                shown, key_shown, near);
        return cs_error_set(CS_EINVAL,
                            "--where '%s': unknown key '%s' (the keys are the run parameters "
                            "of covshift run --help)",
                            shown, key_shown);
    }
    if (section && strcmp(section, cs_param_section_name(param->section)) != 0)
        return cs_error_set(CS_EINVAL, "--where '%s': key '%s' belongs in section [%s]", shown,
                            param->name, cs_param_section_name(param->section));
    cs_where_op o = cs_where_ops[op].op;
    if ((param->type == CS_PARAM_ENUM || param->type == CS_PARAM_BOOL) && o != CS_WHERE_EQ &&
        o != CS_WHERE_NE)
        return cs_error_set(CS_EINVAL, "--where '%s': key '%s' compares only with = and !=", shown,
                            param->name);
    if (!*value)
        return cs_error_set(CS_EINVAL, "--where '%s': the value is empty", shown);
    cs_param_value v;
    int rc = cs_param_parse(param, value, &v);
    if (rc != CS_OK)
        return cs_error_prefix(rc, "--where '%s': key '%s'", shown, param->name);
    out->param = param;
    out->op = o;
    out->value = v;
    return CS_OK;
}

char *cs_where_sql(const cs_where *w, size_t n, char *buf, size_t size)
{
    size_t used = strlen(buf);
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, " AND %s %s :where%zu", w[i].param->name,
                                 cs_where_op_text(w[i].op, 1), i);
    return buf;
}

int cs_where_bind(cs_query *q, const cs_where *w, size_t n)
{
    int rc = CS_OK;
    for (size_t i = 0; i < n && rc == CS_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, ":where%zu", i);
        const cs_param *param = w[i].param;
        switch (param->type) {
        case CS_PARAM_REAL: rc = cs_query_bind_double(q, name, w[i].value.d); break;
        case CS_PARAM_U64: rc = cs_query_bind_int(q, name, (int64_t)w[i].value.u); break;
        case CS_PARAM_ENUM: {
            /* stored as its name (sim/store/schema.sql) */
            char text[64];
            cs_param_format(param, w[i].value, CS_FORMAT_HELP, text, sizeof text);
            rc = cs_query_bind_text(q, name, text);
            break;
        }
        default: rc = cs_query_bind_int(q, name, w[i].value.i); break;
        }
    }
    return rc;
}

const char *cs_where_text(const cs_where *w, char *buf, size_t size)
{
    char value[64];
    cs_param_format(w->param, w->value, CS_FORMAT_HELP, value, sizeof value);
    snprintf(buf, size, "%s %s %s", w->param->name, cs_where_op_text(w->op, 0), value);
    return buf;
}
