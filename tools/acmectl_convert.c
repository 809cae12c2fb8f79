/* acmectl_convert.c: the convert-config verb, which prints the mod_acme equivalent of an httpd configuration file written for mod_md. */
#include <stdio.h>
#include <string.h>

#include "acme_file.h"
#include "acme_mdconf.h"
#include "acmectl.h"

#define CONFIG_MAX (4 * 1024 * 1024)

const char usage_convert_config[] =
    "usage: acmectl convert-config FILE\n"
    "  Print FILE (an httpd configuration using mod_md's directives) with mod_acme's\n"
    "  directives instead: MDomain becomes ACMEDomain (with the names of matching\n"
    "  vhosts, as mod_md added them), <MDomainSet> becomes <ACMEDomainSet>, and so\n"
    "  on. Directives without a mod_acme equivalent are commented out with the\n"
    "  reason and listed at the top. Lines marked \"# mod_acme:\" need a look.\n"
    "  Nothing is written; redirect the output to a file.\n"
    "  See README \"Switching from mod_md\" for the directive map.\n";

int verb_convert_config(ctl_t *c, int argc, const char *const *argv)
{
    apr_array_header_t *args;
    acme_mdconf_t *res;
    const char *file, *err = NULL;
    char *data;
    apr_size_t len;
    apr_status_t rv;
    int code;

    if ((code = plain_args(c, argc, argv, "convert-config ", usage_convert_config, 1, 1, &args)) >= 0) {
        return code;
    }
    file = APR_ARRAY_IDX(args, 0, const char *);
    rv = acme_file_read(c->p, file, CONFIG_MAX, &data, &len);
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot read %s: %s", file,
                    rv == APR_ENOSPC ? "larger than 4 MiB" : errstr(c, rv));
    }
    if (acme_mdconf_convert(c->p, data, len, file, &res, &err) != APR_SUCCESS) {
        return fail(1, "%s: %s", file, err ? err : "cannot be converted");
    }
    fputs(res->text, stdout);
    return 0;
}
