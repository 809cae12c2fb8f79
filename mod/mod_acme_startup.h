/* mod_acme_startup.h: the module's start in the privileged parent (post_config before and after mod_ssl). */
#ifndef MOD_ACME_STARTUP_H
#define MOD_ACME_STARTUP_H

#include <httpd.h>

/* post_config before mod_ssl: domains, store, activation, fallback material,
 * vhost assignment, acme-tls/1, the watcher and the watchdog. */
int am_startup_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
/* post_config after mod_ssl: reports names no SSL vhost serves and partly covered vhosts. */
int am_startup_report(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

#endif
