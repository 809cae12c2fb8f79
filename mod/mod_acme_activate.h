/* mod_acme_activate.h: activation of staged certificates by the privileged parent. */
#ifndef MOD_ACME_ACTIVATE_H
#define MOD_ACME_ACTIVATE_H

#include <httpd.h>
#include "mod_acme_config.h"

/* post_config (root): verify every staged set of a configured domain and move
 * it to domains/ (the old one to archive/); a set failing verification is
 * removed with the reason logged. */
void acme_activate_staged(acme_rt_t *rt, apr_pool_t *ptemp);

/* post_config (root): the wake-up pipe and, for ACMEActivation auto, the
 * watcher process that turns a wake-up into a graceful restart at once. */
apr_status_t acme_activate_start(acme_rt_t *rt, apr_pool_t *pconf);

/* Child: a verified set was staged; wake the parent side (never blocks). */
void acme_activate_wake(const acme_rt_t *rt);

/* monitor hook (parent, about every 10 s): staged sets per ACMEActivation. */
int acme_activate_monitor(apr_pool_t *p, server_rec *s);

/* 1 when `now` (local time) is inside the HH:MM-HH:MM window. */
int acme_activate_in_window(int start_min, int end_min, apr_time_t now);

#endif
