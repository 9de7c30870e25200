/* An experiment file as loaded (see cs_experiment.h; docs/design.md §4):
 * the keys, their entries, and loading a file through cs_ini with every
 * value checked where it is written, so that errors carry file and line. */
#include "cs_experiment.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_ini.h"
#include "cs_suggest.h"
#include "cs_text.h"

/* Longest experiment name: it becomes a file name (results/<name>.db). */
#define CS_EXPERIMENT_MAX_NAME 128

struct cs_experiment {
    char *path;
    char *base_name;   /* the file's base name without .ini */
    char *config_text; /* file text, then one "; --set ..." line per override */
    size_t config_len;
    int next_order;
    cs_experiment_entry *entries; /* cs_experiment_nkeys() */
};

/* ---- the keys ---- */

/* The file's own keys, before the run parameters. */
static const struct {
    const char *name, *expected, *help, *def;
} cs_experiment_text_keys[CS_KEY_PARAMS] = {
    [CS_KEY_NAME] = {"name", "letters, digits, _ - . (not first), at most 128 characters",
                     "experiment name; the default database is results/<name>.db",
                     "the file name without .ini"},
    [CS_KEY_DESCRIPTION] = {"description", "text", "free text stored with the results",
                            "empty"},
};

const char *const cs_experiment_sections[] = {"experiment", "network", "norm", "data", "run",
                                              "measure",    "train"};
const size_t cs_experiment_nsections =
    sizeof cs_experiment_sections / sizeof cs_experiment_sections[0];
_Static_assert(sizeof cs_experiment_sections / sizeof cs_experiment_sections[0] ==
                   1 + CS_SECTION_COUNT,
               "[experiment] and the parameters' sections");

size_t cs_experiment_nkeys(void)
{
    return CS_KEY_PARAMS + cs_param_count;
}

const cs_param *cs_experiment_key_param(int k)
{
    return k >= CS_KEY_PARAMS && (size_t)k < cs_experiment_nkeys()
               ? &cs_param_table[k - CS_KEY_PARAMS]
               : NULL;
}

const char *cs_experiment_key_name(int k)
{
    const cs_param *param = cs_experiment_key_param(k);
    return param ? param->name : k >= 0 && k < CS_KEY_PARAMS ? cs_experiment_text_keys[k].name
                                                             : "?";
}

const char *cs_experiment_key_section(int k)
{
    const cs_param *param = cs_experiment_key_param(k);
    return param ? cs_param_section_name(param->section) : "experiment";
}

int cs_experiment_key_find(const char *name)
{
    for (size_t k = 0; k < cs_experiment_nkeys(); k++)
        if (strcmp(cs_experiment_key_name((int)k), name) == 0)
            return (int)k;
    return -1;
}

const char *cs_experiment_text_expected(int k)
{
    return k >= 0 && k < CS_KEY_PARAMS ? cs_experiment_text_keys[k].expected : "";
}

const char *cs_experiment_text_help(int k)
{
    return k >= 0 && k < CS_KEY_PARAMS ? cs_experiment_text_keys[k].help : "";
}

const char *cs_experiment_text_default(int k)
{
    return k >= 0 && k < CS_KEY_PARAMS ? cs_experiment_text_keys[k].def : "";
}

/* ---- values ---- */

static char *cs_experiment_strndup(const char *s, size_t n)
{
    char *d = cs_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Whether s can name an experiment: letters, digits, _ - . only, not
 * starting with '.' (so neither "." nor ".." nor a hidden file), at most
 * CS_EXPERIMENT_MAX_NAME characters: it becomes a path component. */
static bool cs_experiment_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CS_EXPERIMENT_MAX_NAME || s[0] == '.')
        return false;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return false;
    return true;
}

int cs_experiment_parse_value(int k, const char *value, cs_experiment_entry *parsed)
{
    memset(parsed, 0, sizeof *parsed);
    const cs_param *param = cs_experiment_key_param(k);
    if (param)
        return cs_axis_parse(&parsed->axis, param, value);
    if (k == CS_KEY_NAME && !*value)
        return cs_error_set(CS_EINVAL, "key 'name': empty value (expected %s)",
                            cs_experiment_text_expected(k));
    if (k == CS_KEY_NAME && !cs_experiment_name_ok(value))
        return cs_error_set(CS_EINVAL, "key 'name': expected %s, got '%s'",
                            cs_experiment_text_expected(k), value);
    parsed->text = cs_experiment_strndup(value, strlen(value));
    return parsed->text ? CS_OK : CS_ENOMEM;
}

void cs_experiment_entry_clear(cs_experiment_entry *entry)
{
    cs_free(entry->set);
    cs_free(entry->text);
    cs_axis_clear(&entry->axis);
    memset(entry, 0, sizeof *entry);
}

void cs_experiment_replace(cs_experiment *e, int k, cs_experiment_entry *parsed)
{
    cs_experiment_entry *entry = &e->entries[k];
    parsed->order = entry->order ? entry->order : ++e->next_order;
    cs_experiment_entry_clear(entry);
    *entry = *parsed;
    memset(parsed, 0, sizeof *parsed);
}

int cs_experiment_note_set(cs_experiment *e, const char *assignment)
{
    /* "\n; --set " + assignment + "\n" + NUL */
    size_t add = strlen(assignment) + 12;
    char *text = cs_realloc(e->config_text, e->config_len + add);
    if (!text)
        return CS_ENOMEM;
    e->config_text = text;
    if (e->config_len > 0 && text[e->config_len - 1] != '\n')
        text[e->config_len++] = '\n';
    e->config_len += (size_t)sprintf(text + e->config_len, "; --set %s\n", assignment);
    return CS_OK;
}

/* ---- loading ---- */

static bool cs_experiment_is_section(const char *name)
{
    for (size_t s = 0; s < cs_experiment_nsections; s++)
        if (strcmp(cs_experiment_sections[s], name) == 0)
            return true;
    return false;
}

const char *cs_experiment_nearest_key(const char *word)
{
    const char *names[CS_EXPERIMENT_MAX_KEYS];
    size_t n = cs_experiment_nkeys();
    assert(n <= CS_EXPERIMENT_MAX_KEYS);
    for (size_t k = 0; k < n && k < CS_EXPERIMENT_MAX_KEYS; k++)
        names[k] = cs_experiment_key_name((int)k);
    return cs_suggest_nearest(word, names, n < CS_EXPERIMENT_MAX_KEYS ? n : CS_EXPERIMENT_MAX_KEYS);
}

/* cs_ini's handler: checks and stores one key = value of the file
 * (section as inih gives it) at its line. */
static int cs_experiment_on_key(void *user, const char *section, const char *name,
                                const char *value, int line)
{
    cs_experiment *e = user;
    char sect[256];
    snprintf(sect, sizeof sect, "%s", section);
    const char *s = cs_text_trim(sect);
    if (*s && !cs_experiment_is_section(s)) /* normally caught by cs_ini already */
        return cs_error_set(CS_EINVAL, "unknown section [%s]", s);
    int k = cs_experiment_key_find(name);
    if (k < 0) {
        char where[300] = "before any section";
        if (*s)
            snprintf(where, sizeof where, "in section [%s]", s);
        const char *near = cs_experiment_nearest_key(name);
        if (!near)
            return cs_error_set(CS_EINVAL, "unknown key '%s' %s", name, where);
        const char *near_section = cs_experiment_key_section(cs_experiment_key_find(near));
        if (strcmp(near_section, s) == 0)
            return cs_error_set(CS_EINVAL, "unknown key '%s' %s (did you mean '%s'?)", name,
                                where, near);
        return cs_error_set(CS_EINVAL, "unknown key '%s' %s (did you mean '%s' in [%s]?)", name,
                            where, near, near_section);
    }
    if (!*s)
        return cs_error_set(CS_EINVAL, "key '%s' comes before any section; it belongs in [%s]",
                            name, cs_experiment_key_section(k));
    if (strcmp(cs_experiment_key_section(k), s) != 0)
        return cs_error_set(CS_EINVAL, "key '%s' belongs in section [%s], not [%s]", name,
                            cs_experiment_key_section(k), s);
    cs_experiment_entry *entry = &e->entries[k];
    if (entry->order)
        return cs_error_set(CS_EINVAL, "key '%s' is given twice (lines %d and %d)", name,
                            entry->line, line);
    cs_experiment_entry parsed;
    int rc = cs_experiment_parse_value(k, value, &parsed);
    if (rc != CS_OK)
        return rc;
    parsed.line = line;
    cs_experiment_replace(e, k, &parsed);
    return CS_OK;
}

/* The file's base name without a trailing ".ini": the default name. */
static char *cs_experiment_base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
        n -= 4;
    return cs_experiment_strndup(base, n);
}

int cs_experiment_load(cs_experiment **out, const char *path)
{
    *out = NULL;
    int rc = CS_ENOMEM;
    cs_experiment *e = cs_calloc(1, sizeof *e);
    if (!e || !(e->entries = cs_calloc(cs_experiment_nkeys(), sizeof *e->entries)) ||
        !(e->path = cs_experiment_strndup(path, strlen(path))) ||
        !(e->base_name = cs_experiment_base_of(path)))
        goto fail;
    if ((rc = cs_ini_read(path, &e->config_text, &e->config_len)) != CS_OK ||
        (rc = cs_ini_parse(path, e->config_text, e->config_len, cs_experiment_sections,
                           cs_experiment_nsections, cs_experiment_on_key, e)) != CS_OK)
        goto fail;
    /* A whole-file mistake: an empty file (or one of comments and section
     * headers only) is more likely a wrong or truncated file than a wish
     * for every default. */
    if (e->next_order == 0) {
        rc = cs_error_set(CS_EINVAL,
                          "%s: the file sets no key (an experiment file has lines 'key = "
                          "value' under [section] headers; covshift run --help lists them)",
                          path);
        goto fail;
    }
    *out = e;
    return CS_OK;
fail:
    cs_experiment_free(e);
    return rc;
}

void cs_experiment_free(cs_experiment *e)
{
    if (!e)
        return;
    if (e->entries)
        for (size_t k = 0; k < cs_experiment_nkeys(); k++)
            cs_experiment_entry_clear(&e->entries[k]);
    cs_free(e->entries);
    cs_free(e->config_text);
    cs_free(e->base_name);
    cs_free(e->path);
    cs_free(e);
}

/* ---- accessors ---- */

const char *cs_experiment_name(const cs_experiment *e)
{
    const cs_experiment_entry *name = &e->entries[CS_KEY_NAME];
    return name->text ? name->text : e->base_name;
}

const char *cs_experiment_path(const cs_experiment *e) { return e->path; }

const char *cs_experiment_base_name(const cs_experiment *e) { return e->base_name; }

const char *cs_experiment_config_text(const cs_experiment *e) { return e->config_text; }

const cs_experiment_entry *cs_experiment_entry_of(const cs_experiment *e, int k)
{
    return &e->entries[k];
}

int cs_experiment_last_order(const cs_experiment *e) { return e->next_order; }
