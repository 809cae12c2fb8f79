/* mod_acme_activate.h: activation of staged certificates by the privileged parent. */
#ifndef MOD_ACME_ACTIVATE_H
#define MOD_ACME_ACTIVATE_H

#include <httpd.h>
#include "mod_acme_config.h"

/* post_config (root): activate every staged set of a configured domain that
 * verifies and differs from the active one: its bytes are copied into fresh
 * files in domains/ (the old set to archive/). A refused set is logged once
 * and left for the drive (the child) to remove; nothing in staging/ is
 * written, moved or followed. */
void am_activate_staged(am_runtime_t *rt, apr_pool_t *ptemp);

/* post_config (root), for ACMEActivation auto: the close-on-exec wake-up pipe
 * and the watcher, a small helper (mod_acme_wake) run as the User that exits
 * on a wake-up, whereupon the parent checks staging itself and restarts only
 * for a set it verified. */
apr_status_t am_activate_start(am_runtime_t *rt, apr_pool_t *pconf);

/* child_init hook: children keep only the pipe's write end. */
void am_activate_child_init(apr_pool_t *pchild, server_rec *s);

/* Child: a verified set was staged; wake the parent side (never blocks). */
void am_activate_wake(const am_runtime_t *rt);

/* monitor hook (parent, about every 10 s): staged sets per ACMEActivation,
 * and the backstop when a wake-up was lost. */
int am_activate_monitor(apr_pool_t *p, server_rec *s);

/* 1 when `now` (local time) is inside the HH:MM-HH:MM window. */
int am_activate_in_window(int start_min, int end_min, apr_time_t now);

#endif
