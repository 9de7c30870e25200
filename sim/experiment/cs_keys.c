/* covshift run --help's key listing (see cs_keys.h). */
#include "cs_keys.h"

#include <string.h>

#include "cs_experiment.h"
#include "cs_param.h"

/* One key: "  name  meaning" and "        values; default: D". */
static void cs_keys_print_key(FILE *out, const char *name, const char *help, const char *values,
                              const char *def)
{
    fprintf(out, "  %-13s %s\n  %-13s %s; default: %s\n", name, help, "", values, def);
}

/* Prints text wrapped at 79 columns (words never split). */
static void cs_keys_wrap(FILE *out, const char *text)
{
    size_t column = 0;
    for (const char *w = text; *w;) {
        if (*w == ' ') {
            w++;
            continue;
        }
        size_t n = strcspn(w, " ");
        if (column > 0 && column + 1 + n > 79) {
            fputc('\n', out);
            column = 0;
        }
        if (column > 0) {
            fputc(' ', out);
            column++;
        }
        fwrite(w, 1, n, out);
        column += n;
        w += n;
    }
    if (column > 0)
        fputc('\n', out);
}

/* "bn_phase_b and population without norm = batch; ...": the parameters
 * each rule of meaning governs (cs_param_applies). */
static void cs_keys_meaning(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int when = CS_WHEN_ALWAYS + 1; when < CS_WHEN_COUNT && used < size; when++) {
        size_t n = 0, seen = 0;
        for (size_t k = 0; k < cs_param_count; k++)
            n += cs_param_table[k].when == (cs_param_when)when;
        if (n == 0)
            continue;
        used += (size_t)snprintf(buf + used, size - used, "%s", used ? "; " : "");
        for (size_t k = 0; k < cs_param_count && used < size; k++) {
            if (cs_param_table[k].when != (cs_param_when)when)
                continue;
            seen++;
            used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                     seen == 1 ? "" : seen == n ? " and " : ", ",
                                     cs_param_table[k].name);
        }
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, " without %s",
                                     cs_param_when_text((cs_param_when)when));
    }
}

void cs_keys_print(FILE *out)
{
    fprintf(out, "[%s]\n", cs_experiment_sections[0]);
    for (int k = 0; k < CS_KEY_PARAMS; k++)
        cs_keys_print_key(out, cs_experiment_key_name(k), cs_experiment_text_help(k),
                          cs_experiment_text_expected(k), cs_experiment_text_default(k));
    for (int s = 0; s < CS_SECTION_COUNT; s++) {
        fprintf(out, "\n[%s]\n", cs_param_section_name((cs_param_section)s));
        for (size_t k = 0; k < cs_param_count; k++) {
            const cs_param *param = &cs_param_table[k];
            if (param->section != (cs_param_section)s)
                continue;
            char values[256], def[64];
            cs_param_expected(param, values, sizeof values);
            cs_param_format(param, param->def, CS_FORMAT_HELP, def, sizeof def);
            cs_keys_print_key(out, param->name, param->doc, values, def);
        }
    }
    char meaning[1024], text[2048];
    cs_keys_meaning(meaning, sizeof meaning);
    snprintf(text, sizeof text,
             "Any value except name and description may be a list (a, b, c); integer keys also "
             "take ranges a..b (inclusive), alone or as list items. The runs are the cartesian "
             "product of the lists, in the order the keys appear in the file (keys only given "
             "by --set come after), the last key varying fastest. A key without meaning for a "
             "run is reset to its default: %s. Runs with equal run_keys are kept once.",
             meaning);
    fputc('\n', out);
    cs_keys_wrap(out, text);
    fputs("Comments start with ; or # at the start of a line or after a space.\n"
          "A line may be up to 65535 characters long; a line ending in \\ continues on\n"
          "the next (for long lists; messages name the line the key starts on). CRLF\n"
          "line ends are accepted. A sweep has at most 1000000 runs, and one run may\n"
          "need at most 1 TB of memory (checked before anything runs).\n",
          out);
}
