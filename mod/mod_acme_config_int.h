/* mod_acme_config_int.h: what the directive files (mod_acme_directives.c, mod_acme_config_domain.c) take from below — the argument checks of mod_acme_config.c and the per-domain setters the directive table names; not for the rest of mod/. */
#ifndef MOD_ACME_CONFIG_INT_H
#define MOD_ACME_CONFIG_INT_H

#include <http_config.h>

#include "acme_key.h"
#include "mod_acme_config.h"

/* ---- unset settings and argument checks (mod_acme_config.c) ---- */

/* The per-domain settings as unset. */
void am_settings_init(am_domain_settings_t *dc);

/* "DIRECTIVE: invalid value 'VALUE': ALLOWED", the message of every bad argument. */
const char *am_arg_bad(cmd_parms *cmd, const char *value, const char *allowed);
/* An existing regular file (relative: under ServerRoot), executable if need_exec. */
const char *am_arg_file(cmd_parms *cmd, const char *arg, int need_exec, const char **out);
const char *am_arg_key_type(cmd_parms *cmd, const char *arg, acme_key_type_e *t);
/* on|off (any case) into *flag. */
const char *am_arg_on_off(cmd_parms *cmd, const char *arg, int *flag);

/* ---- one certificate's directives (mod_acme_config_domain.c) ---- */

const char *am_cmd_domain(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *am_cmd_domain_set(cmd_parms *cmd, void *dc, const char *arg);
const char *am_cmd_ca(cmd_parms *cmd, void *d, int argc, char *const argv[]);
const char *am_cmd_email(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_tos(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_eab(cmd_parms *cmd, void *d, const char *kid, const char *key);
const char *am_cmd_challenges(cmd_parms *cmd, void *d, int argc, char *const argv[]);
const char *am_cmd_dns_command(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_key_type(cmd_parms *cmd, void *d, int argc, char *const argv[]);
const char *am_cmd_renew_window(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_warn_window(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_renew_via_ari(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_require_https(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_dns_propagation(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_dns_resolver(cmd_parms *cmd, void *d, const char *arg);
const char *am_cmd_profile(cmd_parms *cmd, void *d, const char *arg, const char *flag);
const char *am_cmd_preferred_chain(cmd_parms *cmd, void *d, const char *arg);

#endif
