/* mod_acme_fleet.h: a fleet node's part in the watchdog: startup checks of the Redis server, the heartbeat, and learning of certificates other nodes published (poll with jitter, pub/sub hint). */
#ifndef MOD_ACME_FLEET_H
#define MOD_ACME_FLEET_H

#include "mod_acme_config.h"

typedef struct am_fleet_wd_t am_fleet_wd_t;

/* NULL when the store is not a fleet store. Lives in pool (the watchdog's). */
am_fleet_wd_t *am_fleet_wd_create(am_runtime_t *rt, apr_pool_t *pool);

/* Called on every watchdog tick: 1 when the fleet published something this
 * node has not looked at (every domain should be looked at now). */
int am_fleet_wd_tick(am_fleet_wd_t *f, apr_pool_t *p, apr_time_t now);

/* How much longer this node holds a graceful restart for new certificates
 * than a single server would, so the fleet does not restart at once. */
apr_interval_time_t am_fleet_wd_restart_jitter(const am_fleet_wd_t *f);

#endif
