/* acme_drive.h: the domain drive — the state machine that takes one domain from nothing to a verified, staged certificate set. */
#ifndef ACME_DRIVE_H
#define ACME_DRIVE_H

#include <apr_pools.h>
#include <apr_thread_mutex.h>
#include "acme_ca.h"
#include "acme_domain.h"
#include "acme_hint.h"
#include "acme_log.h"
#include "acme_responder.h"
#include "acme_store.h"

/* CA objects shared by concurrent drives (one nonce pool and connection
 * cache per directory URL). Thread-safe, lives as long as its pool. */
typedef struct acme_ca_registry_t acme_ca_registry_t;
apr_status_t acme_ca_registry_create(apr_pool_t *p, const acme_http_opts_t *http_opts,
                                     const acme_logger_t *log, acme_ca_registry_t **reg);
apr_status_t acme_ca_registry_get(acme_ca_registry_t *reg, const char *url, acme_ca_t **ca);
/* Every CA the registry creates from now on reports its traffic to obs. */
void acme_ca_registry_set_observer(acme_ca_registry_t *reg, const acme_ca_observer_t *obs);


typedef struct acme_drive_env_t {
    acme_store_t *store;
    acme_ca_registry_t *cas;
    acme_responder_t *responder;
    const acme_logger_t *log;
    apr_interval_time_t retry_delay;  /* first backoff delay (ACMERetryDelay) */
    int ca_failover_after;            /* failures of one CA before the next is used (default 3) */
    volatile int *cancel;             /* non-NULL and set: stop at the next step (httpd shutdown) */
    int no_ca_requests;               /* acme_drive_needed answers ACME_DRIVE_ASK_CA
                                       * instead of asking the CA (ARI) itself */
    acme_ui_e ui;                     /* whose words the hints use (default httpd's) */
    const char *ca_file;              /* the trust file the HTTP client uses for the CA
                                       * (absolute path; NULL: system); recorded per CA */
} acme_drive_env_t;

typedef struct acme_drive_result_t {
    int staged;                       /* a new verified set is in staging */
    acme_problem_t *error;            /* NULL on success */
    const char *message;              /* after an error: what failed, the CA's problem and
                                       * the hint, one line (logged with the next attempt) */
    apr_time_t next_attempt;          /* after an error: when to try again */
} acme_drive_result_t;

/* Does d need a drive now? Missing or expired certificate, renewal due (window
 * or ARI), config changed (names, key types, CA), or marked by `acmectl renew`,
 * and not in backoff: 1, else 0. Sets *why to a short reason for the log.
 * With env->no_ca_requests it never waits on the network: when only the CA's
 * renewal information (ARI) can tell, it answers ACME_DRIVE_ASK_CA and
 * records nothing, so the caller can ask (call again without the flag) where
 * waiting does no harm. */
#define ACME_DRIVE_ASK_CA 2
/* *why when the answer is 0 because a drive (here or, in a fleet, on another
 * node) holds the domain's lock right now: the caller looks again soon. */
#define ACME_DRIVE_WHY_BUSY "a drive is in progress"
int acme_drive_needed(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                      apr_time_t now, const char **why);

/* When to look at d again, from its record (state/<id>/status.json): the
 * earliest future renewal time or next attempt; a recorded time already past
 * (the domain was not driven then) gives now + the retry delay, so a domain
 * past its renewal time is looked at again within ACMERetryDelay. 0: nothing
 * recorded. The watchdog never sleeps past this. */
apr_time_t acme_drive_next_look(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                                apr_time_t now);

/* When d's first active certificate expires; 0 when one is missing or
 * unreadable (it needs a certificate before any that expires). */
apr_time_t acme_drive_expires(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d);

/* Run (or resume) the drive for d under the store's per-domain lock. Each
 * step is persisted in state/<id>/order.json, so a killed drive resumes the
 * same order. On success the verified set is in staging/<id>/ and
 * state/<id>/status.json is updated; on failure the problem is logged once,
 * recorded in status.json with the next attempt (backoff). APR_EBUSY: another
 * drive holds the domain. APR_EAGAIN: every CA of d failed to answer another
 * drive of this registry recently; nothing was tried (status.json shows the
 * outage, written once per outage), try again at res->next_attempt. */
apr_status_t acme_drive_run(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                            acme_drive_result_t *res);

/* A CA whose state this registry does not know (never tried, or its wait is
 * over) is tried by one drive at a time: acme_drive_run waits for that
 * attempt's outcome before it talks to the CA itself, so an unreachable CA
 * costs one attempt per retry period, also when many drives start at once.
 *
 * A CA that a drive of env->cas could not reach is left alone for a while
 * (its own backoff from env->retry_delay, doubling, at most 10 minutes); any
 * answer from it ends that. When every CA d may use is in such a wait: the
 * earliest retry time, else 0. record: d needs a drive, so its status.json
 * shows the outage (written once per outage). */
apr_time_t acme_drive_ca_wait(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                              apr_time_t now, int record);

#endif
