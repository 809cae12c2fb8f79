/* acme_import.h: reads the stores of mod_md and certbot (accounts, active certificates and keys, renewal settings) into one description that acmectl import takes over. */
#ifndef ACME_IMPORT_H
#define ACME_IMPORT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "acme_key.h"

/* An ACME account found in the source. */
typedef struct acme_import_account_t {
    const char *source;     /* where, relative to the source directory */
    const char *ref;        /* the source's own name for it (mod_md: dir name, certbot: id) */
    const char *ca_url;     /* directory URL */
    const char *url;        /* account URL (the JWS kid) */
    const char *status;     /* "valid" unless the source recorded otherwise */
    json_t *contact;        /* array of "mailto:" URIs, or NULL */
    acme_key_t *key;        /* NULL when it could not be read */
    const char *why_not;    /* NULL: can be taken; else the reason */
} acme_import_account_t;

/* One certificate with its key, checked: key matches, names covered, chain linked, valid now. */
typedef struct acme_import_cert_t {
    const char *key_type;   /* "ec256", "rsa2048", ... */
    const char *source;     /* the chain's file, relative to the source directory */
    const char *chain_pem;  /* leaf first, as read */
    apr_size_t chain_len;
    char *key_pem;          /* unencrypted PKCS#8, scrubbed at pool cleanup */
    apr_size_t key_len;
    const char *serial;     /* lower-case hex */
    apr_time_t not_before, not_after;
} acme_import_cert_t;

/* One certificate set (a mod_md managed domain, a certbot lineage). */
typedef struct acme_import_domain_t {
    const char *id;             /* mod_acme's domain id: the first name */
    const char *source;         /* relative to the source directory */
    apr_array_header_t *names;  /* const char*: id first */
    const char *ca_url;         /* NULL when the source does not say */
    const char *account_ref;    /* the source's account name, or NULL */
    apr_array_header_t *key_order; /* const char*: mod_md's key file suffixes in its order */
    apr_array_header_t *certs;  /* acme_import_cert_t*: what can be taken, primary first */
    const char *renew_window;   /* the source's window in ACMERenewWindow syntax, or NULL */
    const char *renew_window_note; /* where that window came from */
    apr_array_header_t *notes;  /* const char*: what was left behind and why */
    const char *why_not;        /* NULL: can be taken; else the reason */
} acme_import_domain_t;

typedef struct acme_import_t {
    const char *kind;               /* "mod_md" or "certbot" */
    const char *dir;
    apr_array_header_t *accounts;   /* acme_import_account_t* */
    apr_array_header_t *domains;    /* acme_import_domain_t* */
} acme_import_t;

/* Reads a mod_md store (md_store.json, accounts/, domains/, staging/) or a
 * certbot configuration directory (accounts/, renewal/, live/). Only reads.
 * Certificates are checked as of now. APR_EINVAL with *why when dir is not
 * such a store at all; single unreadable items end up in why_not/notes. */
apr_status_t acme_import_mod_md(apr_pool_t *p, const char *dir, apr_time_t now,
                                acme_import_t **imp, const char **why);
apr_status_t acme_import_certbot(apr_pool_t *p, const char *dir, apr_time_t now,
                                 acme_import_t **imp, const char **why);

/* The account the domain used, when it was found in the same source. */
const acme_import_account_t *acme_import_account_of(const acme_import_t *imp,
                                                    const acme_import_domain_t *d);

/* Parsers of single files, exposed for tests and fuzzing. */

/* mod_md's md.json: id, names, CA, account, key order and renewal window
 * (certs and notes are left empty). APR_EINVAL for anything malformed. */
apr_status_t acme_import_md_json(apr_pool_t *p, const char *data, apr_size_t len,
                                 acme_import_domain_t **d);

/* certbot's renewal/<name>.conf (ConfigObj): keys of the top level as they
 * are, keys of [section] as "section.key"; values unquoted. APR_EINVAL for a
 * line that is neither. */
apr_status_t acme_import_certbot_conf(apr_pool_t *p, const char *data, apr_size_t len,
                                      apr_table_t **conf);

/* A time span of mod_md ("30", "30d", "12h", "90mi", "33%"; plain numbers
 * count def_unit: 'd' or 's') or of certbot ("30 days", "2 weeks 1 day") in
 * mod_acme's duration syntax ("30d", "12h", "90m", "45s", "33%").
 * APR_EINVAL when it cannot be expressed. */
apr_status_t acme_import_md_timespan(apr_pool_t *p, const char *s, char def_unit,
                                     const char **out);
apr_status_t acme_import_certbot_interval(apr_pool_t *p, const char *s, const char **out);

#endif
