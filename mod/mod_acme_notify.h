/* mod_acme_notify.h: ACMENotifyCmd, the program told about certificate events; it always runs as the httpd User. */
#ifndef MOD_ACME_NOTIFY_H
#define MOD_ACME_NOTIFY_H

#include <httpd.h>
#include "acme_responder.h"
#include "mod_acme_config.h"

/* Runs `ACMENotifyCmd EVENT DOMAIN` (README "Hooks") without waiting for it,
 * from the root parent or a child's thread alike: a detached supervisor
 * (double fork) leaves httpd's session, keeps only stdio and the error log,
 * becomes the httpd User (when started as root; verified), runs the program
 * with acme_exec (descriptors 0-2, PATH, ACME_EVENT, ACME_DOMAIN,
 * ACME_NAMES, killed with its process group after ACMEHookTimeout) and logs
 * how a failed run ended. It outlives a restart of httpd. */
void am_notify(const am_runtime_t *rt, apr_pool_t *p, const char *event, const char *domain);

/* The same with the event's own variables: NULL-terminated NAME, value pairs
 * (values made one line and cut at 1 KiB). Successful runs are logged at
 * info with their exit status, failed ones at warn with how they ended. */
void am_notify_vars(const am_runtime_t *rt, apr_pool_t *p, const char *event, const char *domain,
                      const char *const *vars);

/* Runs the program for the event in the calling thread and waits for it (a
 * child, which runs as the User already; never the root parent): APR_SUCCESS
 * when there is no ACMENotifyCmd or it exited 0; otherwise how it ended in
 * *why (also logged). cancel: kill it when set (httpd stopping). */
apr_status_t am_notify_wait(const am_runtime_t *rt, apr_pool_t *p, const char *event,
                              const char *domain, const char *const *vars, volatile int *cancel,
                              const char **why);

/* inner with `challenge-setup` after every answer it publishes: the drive
 * waits for the program (up to ACMEHookTimeout; its failure is logged and
 * the drive goes on). inner itself when there is no ACMENotifyCmd. */
acme_responder_t *am_notify_responder(const am_runtime_t *rt, apr_pool_t *p, const char *domain,
                                        acme_responder_t *inner, volatile int *cancel);

#endif
