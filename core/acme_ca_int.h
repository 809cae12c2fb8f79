/* acme_ca_int.h: what acme_ca.c and acme_ca_problem.c share inside the core: making the problems a request ends in; not for mod/ or tools/. */
#ifndef ACME_CA_INT_H
#define ACME_CA_INT_H

#include "acme_ca.h"
#include "acme_http.h"

/* A problem made here, not sent by the CA. */
acme_problem_t *acme_problem_make(apr_pool_t *p, const char *type, int status, const char *detail);

/* A request that got no answer (err: what the transport said). */
acme_problem_t *acme_problem_transport(apr_pool_t *p, const char *err);

/* The problem an error response (>= 400) from url stands for, with its Retry-After. */
acme_problem_t *acme_problem_of_response(apr_pool_t *p, const char *url,
                                         const acme_http_response_t *resp);

#endif
