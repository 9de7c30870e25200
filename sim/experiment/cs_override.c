/* --set overrides (see cs_override.h). */
#include "cs_override.h"

#include <ctype.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_text.h"

int cs_override_apply(cs_experiment *e, const char *assignment)
{
    /* The assignment becomes a comment line of the config text, so a line
     * break would let it inject lines into the stored file. */
    if (strpbrk(assignment, "\r\n"))
        return cs_error_set(CS_EINVAL, "--set: the assignment contains a line break");
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return cs_error_set(CS_EINVAL, "--set '%s': expected key=value (e.g. --set depth=10,20)",
                            assignment);
    char key_text[128];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key_text)
        return cs_error_set(CS_EINVAL, "--set %s: unknown key", assignment);
    memcpy(key_text, assignment, klen);
    key_text[klen] = '\0';
    char *key = cs_text_trim(key_text);
    const char *section = NULL;
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        section = cs_text_trim(key);
        key = cs_text_trim(dot + 1);
    }
    if (!*key)
        return cs_error_set(CS_EINVAL, "--set %s: expected key=value, the key is empty",
                            assignment);
    int k = cs_experiment_key_find(key);
    if (k < 0) {
        const char *near = cs_experiment_nearest_key(key);
        if (near)
            return cs_error_set(CS_EINVAL, "--set %s: unknown key '%s' (did you mean '%s'?)",
                                assignment, key, near);
        return cs_error_set(CS_EINVAL, "--set %s: unknown key '%s' (see covshift run --help)",
                            assignment, key);
    }
    if (section && strcmp(section, cs_experiment_key_section(k)) != 0)
        return cs_error_set(CS_EINVAL, "--set %s: key '%s' belongs in section [%s], not [%s]",
                            assignment, key, cs_experiment_key_section(k), section);

    size_t vlen = strlen(eq + 1);
    char *value = cs_malloc(vlen + 1);
    if (!value)
        return CS_ENOMEM;
    memcpy(value, eq + 1, vlen + 1);
    cs_experiment_entry parsed;
    int rc = cs_experiment_parse_value(k, cs_text_trim(value), &parsed);
    cs_free(value);
    if (rc != CS_OK)
        return rc == CS_EINVAL ? cs_error_prefix(rc, "--set %s", assignment) : rc;
    size_t alen = strlen(assignment);
    if (!(parsed.set = cs_malloc(alen + 1)) || cs_experiment_note_set(e, assignment) != CS_OK) {
        cs_experiment_entry_clear(&parsed);
        return CS_ENOMEM;
    }
    memcpy(parsed.set, assignment, alen + 1);
    /* The file's line stays: messages name it with the --set. */
    parsed.line = cs_experiment_entry_of(e, k)->line;
    cs_experiment_replace(e, k, &parsed);
    return CS_OK;
}
