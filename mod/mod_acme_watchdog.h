/* mod_acme_watchdog.h: the background drive in one unprivileged child (mod_watchdog singleton) with a bounded thread pool. */
#ifndef MOD_ACME_WATCHDOG_H
#define MOD_ACME_WATCHDOG_H

#include <httpd.h>
#include "mod_acme_config.h"

/* post_config (real pass): register the singleton child watchdog callback. */
apr_status_t am_watchdog_setup(am_runtime_t *rt, apr_pool_t *pconf);

/* child_init hook: the drive ends with the child's pool, before exit(). */
void am_watchdog_child_init(apr_pool_t *pchild, server_rec *s);

#endif
