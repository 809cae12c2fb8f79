/* mod_acme_notify.h: ACMENotifyCmd, the program told about certificate events; it always runs as the httpd User. */
#ifndef MOD_ACME_NOTIFY_H
#define MOD_ACME_NOTIFY_H

#include <httpd.h>
#include "mod_acme_config.h"

/* The root parent (single-threaded: post_config): runs `ACMENotifyCmd
 * EVENT DOMAIN` (README "Hooks") without waiting for it. A detached
 * supervisor leaves httpd's session, keeps only stdio and the error log,
 * becomes the httpd User (when started as root; verified), runs the
 * program with acme_exec (descriptors 0-2, PATH, ACME_EVENT, ACME_DOMAIN,
 * ACME_NAMES, killed after ACMEHookTimeout) and logs a failure. */
void acme_notify(const acme_rt_t *rt, apr_pool_t *p, const char *event, const char *domain);

/* A child's thread (already the User): the same run in this thread, killed
 * early when *cancel is set; returns when the program has ended. */
void acme_notify_here(const acme_rt_t *rt, apr_pool_t *p, const char *event, const char *domain,
                      volatile int *cancel);

#endif
