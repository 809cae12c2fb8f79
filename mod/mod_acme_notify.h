/* mod_acme_notify.h: ACMENotifyCmd, the program told about certificate events; it always runs as the httpd User. */
#ifndef MOD_ACME_NOTIFY_H
#define MOD_ACME_NOTIFY_H

#include <httpd.h>
#include "mod_acme_config.h"

/* Runs `ACMENotifyCmd EVENT DOMAIN` (README "Hooks") without waiting for it,
 * from the root parent or a child's thread alike: a detached supervisor
 * (double fork) leaves httpd's session, keeps only stdio and the error log,
 * becomes the httpd User (when started as root; verified), runs the program
 * with acme_exec (descriptors 0-2, PATH, ACME_EVENT, ACME_DOMAIN,
 * ACME_NAMES, killed with its process group after ACMEHookTimeout) and logs
 * how a failed run ended. It outlives a restart of httpd. */
void acme_notify(const acme_rt_t *rt, apr_pool_t *p, const char *event, const char *domain);

#endif
