/* acme_mdconf.c: httpd configuration text with mod_md directives in, the same text with mod_acme's out (a table of what each mod_md directive becomes). */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "acme_domain.h"
#include "acme_import.h"
#include "acme_mdconf.h"
#include "acme_mdconf_int.h"

#define INPUT_MAX (4 * 1024 * 1024)

/* Where mod_acme takes a directive (README "Directives"). */
#define CTX_S 0x1   /* server config */
#define CTX_V 0x2   /* <VirtualHost> */
#define CTX_D 0x4   /* <ACMEDomainSet> */

static int is(const char *a, const char *b)
{
    return a && !strcasecmp(a, b);
}

static int is_md_set(const cline_t *l)
{
    return (l->kind == L_OPEN || l->kind == L_CLOSE)
           && (is(l->name, "MDomainSet") || is(l->name, "MDomain"));
}

static int is_transitive_word(const char *w)
{
    return is(w, "auto") || is(w, "manual");
}

/* ---- the names of a managed domain -------------------------------------------- */

/* The ServerName (without scheme and port) and ServerAlias names of every <VirtualHost>,
 * lower-cased by core's one name normaliser like every name this file keeps. */
static void collect_vhosts(conv_t *cv)
{
    apr_array_header_t *cur = NULL;
    int depth = 0, vdepth = -1;

    for (int i = 0; i < cv->lines->nelts; i++) {
        const cline_t *l = &APR_ARRAY_IDX(cv->lines, i, cline_t);

        if (l->kind == L_OPEN) {
            depth++;
            if (is(l->name, "VirtualHost") && vdepth < 0) {
                vdepth = depth;
                cur = apr_array_make(cv->p, 4, sizeof(const char *));
                APR_ARRAY_PUSH(cv->vhosts, apr_array_header_t *) = cur;
            }
        }
        else if (l->kind == L_CLOSE) {
            if (depth == vdepth) {
                vdepth = -1;
                cur = NULL;
            }
            depth -= depth > 0;
        }
        else if (l->kind == L_DIRECTIVE && cur && l->args->nelts > 0
                 && (is(l->name, "ServerName") || is(l->name, "ServerAlias"))) {
            for (int j = 0; j < l->args->nelts; j++) {
                const char *n = APR_ARRAY_IDX(l->args, j, const char *), *c;

                if ((c = strstr(n, "://"))) n = c + 3;
                if ((c = strrchr(n, ':')) && !strchr(c + 1, ']') && strchr(n, ':') == c) {
                    n = apr_pstrmemdup(cv->p, n, (apr_size_t)(c - n));
                }
                (void)acme_names_add(cv->p, cur, n);
                if (is(l->name, "ServerName")) break;
            }
        }
    }
}

/* mod_md's "auto" members: every name of a vhost that shares a name with the domain. */
static void add_vhost_names(conv_t *cv, apr_array_header_t *names)
{
    for (int v = 0; v < cv->vhosts->nelts; v++) {
        const apr_array_header_t *vn = APR_ARRAY_IDX(cv->vhosts, v, apr_array_header_t *);
        int shared = 0;

        for (int i = 0; i < vn->nelts && !shared; i++) {
            shared = acme_names_has(names, APR_ARRAY_IDX(vn, i, const char *));
        }
        for (int i = 0; shared && i < vn->nelts; i++) {
            (void)acme_names_add(cv->p, names, APR_ARRAY_IDX(vn, i, const char *));
        }
    }
}

/* The names of MDomain's arguments (or a section's tag), *transitive set by auto/manual. */
static apr_array_header_t *domain_names(conv_t *cv, const apr_array_header_t *args,
                                        int *transitive)
{
    apr_array_header_t *names = apr_array_make(cv->p, 4, sizeof(const char *));

    for (int i = 0; i < args->nelts; i++) {
        const char *w = APR_ARRAY_IDX(args, i, const char *);

        if (is_transitive_word(w)) *transitive = is(w, "auto");
        else (void)acme_names_add(cv->p, names, w);
    }
    return names;
}

/* ---- value conversions ----------------------------------------------------------- */

static const char *ca_url(const char *name)
{
    static const char *const known[][2] = {
        { "LetsEncrypt", "letsencrypt" }, { "LetsEncrypt-Test", "letsencrypt-staging" },
        { "Buypass", "https://api.buypass.com/acme/directory" },
        { "Buypass-Test", "https://api.test4.buypass.no/acme/directory" },
    };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (is(name, known[i][0])) return known[i][1];
    }
    return name;
}

/* MDPrivateKeys' words as ACMEKeyType's; *bad names the first without equivalent. */
static apr_array_header_t *key_types(conv_t *cv, const apr_array_header_t *args,
                                     const char **bad)
{
    apr_array_header_t *out = apr_array_make(cv->p, 2, sizeof(const char *));

    *bad = NULL;
    for (int i = 0; i < args->nelts; i++) {
        const char *w = APR_ARRAY_IDX(args, i, const char *);
        const char *bits = NULL, *t = NULL;

        if (is(w, "Default")) {
            t = "rsa2048";
        }
        else if (!strncasecmp(w, "RSA", 3)) {
            bits = w[3] ? w + 3 : "2048";
            if (!w[3] && i + 1 < args->nelts
                && apr_isdigit(*APR_ARRAY_IDX(args, i + 1, const char *))) {
                bits = APR_ARRAY_IDX(args, ++i, const char *);
            }
            if (!strcmp(bits, "2048") || !strcmp(bits, "3072") || !strcmp(bits, "4096")) {
                t = apr_pstrcat(cv->p, "rsa", bits, NULL);
            }
        }
        else if (is(w, "secp256r1") || is(w, "P-256") || is(w, "prime256v1")) {
            t = "ec256";
        }
        else if (is(w, "secp384r1") || is(w, "P-384")) {
            t = "ec384";
        }
        if (t) (void)acme_names_add(cv->p, out, t);
        else if (!*bad) *bad = bits ? apr_pstrcat(cv->p, "RSA ", bits, NULL) : w;
    }
    return out;
}

/* ---- the table ---------------------------------------------------------------- */

typedef enum {
    K_SAME,         /* same arguments */
    K_WINDOW,       /* a time span, plain numbers in days */
    K_DURATION,     /* a duration, plain numbers in seconds */
    K_OFF_OR_GAP,   /* "off" is mod_acme's behaviour; anything else is a gap */
    K_GAP,          /* no equivalent */
    K_DROP,         /* not needed */
    K_SPECIAL       /* handled by name in special() */
} kind_e;

typedef struct {
    const char *md, *acme;
    kind_e kind;
    int ctx;            /* where mod_acme takes acme */
    const char *text;   /* why (gaps, drops) or what changed (conversions) */
} entry_t;

static const entry_t table[] = {
    { "MDomain", "ACMEDomain", K_SPECIAL, CTX_S | CTX_V, NULL },
    { "MDMember", NULL, K_SPECIAL, CTX_S, NULL },
    { "MDMembers", NULL, K_SPECIAL, CTX_S, NULL },
    { "MDCertificateAuthority", "ACMECertificateAuthority", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDCertificateAgreement", "ACMETermsOfService", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDCAChallenges", "ACMEChallenges", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDContactEmail", "ACMEContactEmail", K_SAME, CTX_S | CTX_D, NULL },
    { "MDPrivateKeys", "ACMEKeyType", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDRenewWindow", "ACMERenewWindow", K_WINDOW, CTX_S | CTX_D, NULL },
    { "MDWarnWindow", "ACMEWarnWindow", K_WINDOW, CTX_S | CTX_D, NULL },
    { "MDRenewViaARI", "ACMERenewViaARI", K_SAME, CTX_S | CTX_D, NULL },
    { "MDRequireHttps", "ACMERequireHttps", K_SAME, CTX_S | CTX_D, NULL },
    { "MDProfile", "ACMEProfile", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDProfileMandatory", NULL, K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDExternalAccountBinding", "ACMEExternalAccountBinding", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDChallengeDns01", "ACMEDNSCommand", K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDMessageCmd", "ACMENotifyCmd", K_SPECIAL, CTX_S, NULL },
    { "MDNotifyCmd", "ACMENotifyCmd", K_SPECIAL, CTX_S, NULL },
    { "MDPortMap", "ACMEPortMap", K_SPECIAL, CTX_S, NULL },
    { "MDRenewMode", NULL, K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDDriveMode", NULL, K_SPECIAL, CTX_S | CTX_D, NULL },
    { "MDCACertificateFile", "ACMECACertificateFile", K_SAME, CTX_S, NULL },
    { "MDHttpProxy", "ACMEHttpProxy", K_SAME, CTX_S, NULL },
    { "MDCheckInterval", "ACMECheckInterval", K_DURATION, CTX_S, NULL },
    { "MDRetryDelay", "ACMERetryDelay", K_DURATION, CTX_S, NULL },
    { "MDCertificateProtocol", NULL, K_DROP, 0, "mod_acme speaks ACME only" },
    { "MDServerStatus", NULL, K_DROP, 0, "mod_acme's section is always in server-status" },
    { "MDStoreLocks", NULL, K_DROP, 0, "mod_acme locks its store entries itself" },
    { "MDChallengeDns01Version", NULL, K_DROP, 0,
      "mod_acme calls ACMEDNSCommand with NAME and VALUE for setup and teardown" },
    { "MDStoreDir", NULL, K_GAP, 0, "mod_acme keeps its own store (ACMEStoreDir); take this "
      "one over with 'acmectl import --from-mod-md DIR'" },
    { "MDMustStaple", NULL, K_OFF_OR_GAP, 0, "mod_acme does not ask for must-staple certificates" },
    { "MDStapling", NULL, K_OFF_OR_GAP, 0, "mod_acme does not staple OCSP responses: use "
      "mod_ssl's SSLUseStapling" },
    { "MDStapleOthers", NULL, K_OFF_OR_GAP, 0, "mod_acme does not staple OCSP responses: use "
      "mod_ssl's SSLUseStapling" },
    { "MDStaplingKeepResponse", NULL, K_GAP, 0, "mod_acme does not staple OCSP responses" },
    { "MDStaplingRenewWindow", NULL, K_GAP, 0, "mod_acme does not staple OCSP responses" },
    { "MDBaseServer", NULL, K_OFF_OR_GAP, 0, "mod_acme manages the names an ACMEDomain "
      "lists; put one at server level for the base server's names" },
    { "MDCertificateFile", NULL, K_GAP, 0, "use SSLCertificateFile in the <VirtualHost>: a "
      "static certificate wins over ACMEDomain" },
    { "MDCertificateKeyFile", NULL, K_GAP, 0, "use SSLCertificateKeyFile in the <VirtualHost>" },
    { "MDCertificateStatus", NULL, K_OFF_OR_GAP, 0, "mod_acme's status is a <Location> with "
      "SetHandler acme-status" },
    { "MDCertificateCheck", NULL, K_GAP, 0, "mod_acme's status has no monitoring links" },
    { "MDActivationDelay", NULL, K_GAP, 0, "ACMEActivation (auto, HH:MM-HH:MM or manual) "
      "decides when new certificates go live" },
    { "MDHttpProxyCACertificateFile", NULL, K_GAP, 0, "mod_acme verifies the proxy with the "
      "system trust store" },
    { "MDRetryFailover", NULL, K_GAP, 0, "mod_acme moves to the next ACMECertificateAuthority "
      "URL after 3 failures" },
    { "MDMatchNames", NULL, K_GAP, 0, "mod_acme matches names exactly (case-insensitive)" },
    { "MDInitialDelay", NULL, K_GAP, 0, "mod_acme checks at start and every "
      "ACMECheckInterval" },
};

static const entry_t *lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (is(name, table[i].md)) return &table[i];
    }
    return NULL;
}

static int is_md_directive(const cline_t *l)
{
    return l->kind == L_DIRECTIVE && strlen(l->name) > 2 && !strncasecmp(l->name, "MD", 2)
           && apr_isalpha(l->name[2]);
}

/* ---- special cases ----------------------------------------------------------------- */

static void conv_notify(conv_t *cv, const cline_t *l, const entry_t *e)
{
    int message = is(l->name, "MDMessageCmd");

    if (l->args->nelts != 1) {
        acme_mdconf_gap(cv, l, "mod_acme runs the program without arguments of its own: put them in a "
                        "script and name that");
        return;
    }
    if (!message && cv->has_msg_cmd) {
        acme_mdconf_gap(cv, l, "mod_acme has one ACMENotifyCmd, made from MDMessageCmd here: run this "
                        "program from it on the event issued");
        return;
    }
    if (message) {
        acme_mdconf_comment(cv, l, "run as 'PATH EVENT DOMAIN' (the events are in mod_acme(8)); "
                            "mod_md's 'renewed' is the event issued, 'installed' is activated, and there "
                            "are no ocsp-* events");
    }
    else {
        acme_mdconf_comment(cv, l, "run as 'PATH EVENT DOMAIN' for every event; mod_md ran 'PATH DOMAIN' "
                            "after a renewal: act on the event issued");
    }
    acme_mdconf_directive(cv, l, e->acme, l->args);
}

static void conv_portmap(conv_t *cv, const cline_t *l, const entry_t *e)
{
    apr_array_header_t *maps = apr_array_make(cv->p, 2, sizeof(const char *));

    for (int i = 0; i < l->args->nelts; i++) {
        const char *w = APR_ARRAY_IDX(l->args, i, const char *), *c = strchr(w, ':');
        const char *ext = c ? apr_pstrmemdup(cv->p, w, (apr_size_t)(c - w)) : "";

        if (is(ext, "http")) ext = "80";
        else if (is(ext, "https")) ext = "443";
        if (!c || (strcmp(ext, "80") && strcmp(ext, "443"))) {
            acme_mdconf_gap(cv, l, apr_psprintf(cv->p, "'%s' is not a mapping of port 80 or 443", w));
            return;
        }
        if (!strcmp(c + 1, "-")) {
            acme_mdconf_comment(cv, l, "port %s is not reachable from outside: leave %s out of ACMEChallenges",
                                ext, strcmp(ext, "80") ? "tls-alpn-01" : "http-01");
            continue;
        }
        APR_ARRAY_PUSH(maps, const char *) = apr_pstrcat(cv->p, ext, ":", c + 1, NULL);
    }
    if (maps->nelts > 0) acme_mdconf_directive(cv, l, e->acme, maps);
    else acme_mdconf_dropped(cv, l, "no port is mapped");
}

static void conv_eab(conv_t *cv, const cline_t *l, const entry_t *e)
{
    if (l->args->nelts == 2) {
        acme_mdconf_directive(cv, l, e->acme, l->args);
    }
    else if (l->args->nelts == 1 && is(APR_ARRAY_IDX(l->args, 0, const char *), "none")) {
        acme_mdconf_directive1(cv, l, e->acme, "none");
    }
    else {
        acme_mdconf_gap(cv, l, "mod_md's JSON file with kid and hmac: write 'ACMEExternalAccountBinding KID "
                        "HMAC' (or 'KID file:PATH' with a file holding the HMAC key alone)");
    }
}

static void conv_profile(conv_t *cv, const cline_t *l, const entry_t *e)
{
    int mandatory = cv->in_set ? cv->set_mandatory : cv->mandatory_global;
    apr_array_header_t *a = apr_array_copy(cv->p, l->args);

    if (mandatory && a->nelts == 1) {
        APR_ARRAY_PUSH(a, const char *) = "mandatory";
    }
    acme_mdconf_directive(cv, l, e->acme, a);
}

static void conv_members(conv_t *cv, const cline_t *l)
{
    if (l->args->nelts == 1 && is_transitive_word(APR_ARRAY_IDX(l->args, 0, const char *))) {
        acme_mdconf_dropped(cv, l, "the names of matching vhosts are listed in ACMEDomain");
    }
    else {
        acme_mdconf_gap(cv, l, "names belong inside <MDomainSet> (they go into <ACMEDomainSet>)");
    }
}

static void conv_renew_mode(conv_t *cv, const cline_t *l)
{
    const char *v = l->args->nelts ? APR_ARRAY_IDX(l->args, 0, const char *) : "";

    if (is(v, "auto") || is(v, "automatic")) {
        acme_mdconf_dropped(cv, l, "mod_acme always renews automatically");
    }
    else if (is(v, "always")) {
        acme_mdconf_dropped(cv, l, "mod_acme manages every ACMEDomain, used by a vhost or not");
    }
    else {
        acme_mdconf_gap(cv, l, "mod_acme always renews; 'ACMEActivation manual' only holds new "
                        "certificates back until a restart");
    }
}

static void special(conv_t *cv, const cline_t *l, const entry_t *e)
{
    const char *bad;

    if (is(e->md, "MDomain")) {
        int transitive = cv->members_auto;
        apr_array_header_t *names = domain_names(cv, l->args, &transitive);

        if (names->nelts == 0) {
            acme_mdconf_gap(cv, l, "it names no domain");
            return;
        }
        if (transitive) add_vhost_names(cv, names);
        acme_mdconf_directive(cv, l, e->acme, names);
    }
    else if (is(e->md, "MDMember") || is(e->md, "MDMembers")) {
        conv_members(cv, l);
    }
    else if (is(e->md, "MDCertificateAuthority")) {
        apr_array_header_t *urls = apr_array_make(cv->p, 2, sizeof(const char *));

        for (int i = 0; i < l->args->nelts; i++) {
            APR_ARRAY_PUSH(urls, const char *) = ca_url(APR_ARRAY_IDX(l->args, i, const char *));
        }
        acme_mdconf_directive(cv, l, e->acme, urls);
    }
    else if (is(e->md, "MDCertificateAgreement")) {
        acme_mdconf_directive1(cv, l, e->acme, "accepted");
    }
    else if (is(e->md, "MDCAChallenges")) {
        apr_array_header_t *types = apr_array_make(cv->p, 3, sizeof(const char *));

        for (int i = 0; i < l->args->nelts; i++) {
            const char *t = APR_ARRAY_IDX(l->args, i, const char *);

            if (is(t, "http-01") || is(t, "tls-alpn-01") || is(t, "dns-01")) {
                (void)acme_names_add(cv->p, types, t);
            }
        }
        if (types->nelts) acme_mdconf_directive(cv, l, e->acme, types);
        else acme_mdconf_gap(cv, l, "mod_acme answers http-01, tls-alpn-01 and dns-01 only");
    }
    else if (is(e->md, "MDPrivateKeys")) {
        apr_array_header_t *types = key_types(cv, l->args, &bad);

        if (bad && types->nelts == 0) {
            acme_mdconf_gap(cv, l, apr_psprintf(cv->p, "key type '%s': mod_acme has ec256, ec384, rsa2048, "
                                                "rsa3072, rsa4096", bad));
            return;
        }
        if (bad) {
            acme_mdconf_comment(cv, l, "key type '%s' has no equivalent and is left out", bad);
        }
        if (!cv->in_set && !cv->in_vhost) cv->keytype_pending = 0;
        acme_mdconf_directive(cv, l, e->acme, types);
    }
    else if (is(e->md, "MDProfile")) {
        conv_profile(cv, l, e);
    }
    else if (is(e->md, "MDProfileMandatory")) {
        acme_mdconf_dropped(cv, l, "'mandatory' is written after the name in ACMEProfile");
    }
    else if (is(e->md, "MDExternalAccountBinding")) {
        conv_eab(cv, l, e);
    }
    else if (is(e->md, "MDChallengeDns01")) {
        if (l->args->nelts != 1) {
            acme_mdconf_gap(cv, l, "mod_acme runs the program without arguments of its own: put them in a "
                            "script and name that");
            return;
        }
        acme_mdconf_comment(cv, l, "run as 'PATH setup _acme-challenge.NAME VALUE' and 'PATH teardown "
                            "_acme-challenge.NAME VALUE'; mod_md passed NAME without _acme-challenge.");
        acme_mdconf_directive(cv, l, e->acme, l->args);
    }
    else if (is(e->md, "MDMessageCmd") || is(e->md, "MDNotifyCmd")) {
        conv_notify(cv, l, e);
    }
    else if (is(e->md, "MDPortMap")) {
        conv_portmap(cv, l, e);
    }
    else {
        conv_renew_mode(cv, l);
    }
}

/* One mod_md directive (anything else is kept as it is). */
static void convert_directive(conv_t *cv, const cline_t *l)
{
    const entry_t *e = lookup(l->name);
    const char *v, *span;

    if (!e) {
        acme_mdconf_gap(cv, l, "not a mod_md directive acmectl knows");
        return;
    }
    if (e->acme && cv->in_set && !(e->ctx & CTX_D)) {
        acme_mdconf_gap(cv, l, apr_psprintf(cv->p, "mod_acme takes %s at server level only", e->acme));
        return;
    }
    if (e->acme && cv->in_vhost && !cv->in_set && !(e->ctx & CTX_V)) {
        acme_mdconf_gap(cv, l, apr_psprintf(cv->p, "mod_acme takes %s at server level (or in "
                                            "<ACMEDomainSet>), not in <VirtualHost>", e->acme));
        return;
    }
    v = l->args->nelts ? APR_ARRAY_IDX(l->args, 0, const char *) : "";
    switch (e->kind) {
    case K_SAME:
        acme_mdconf_directive(cv, l, e->acme, l->args);
        break;
    case K_WINDOW:
    case K_DURATION:
        if (acme_import_md_timespan(cv->p, v, e->kind == K_WINDOW ? 'd' : 's', &span)
            != APR_SUCCESS || (e->kind == K_DURATION && strchr(span, '%'))) {
            acme_mdconf_gap(cv, l, apr_psprintf(cv->p, "'%s' has no mod_acme form", v));
        }
        else {
            acme_mdconf_directive1(cv, l, e->acme, span);
        }
        break;
    case K_OFF_OR_GAP:
        if (is(v, "off")) acme_mdconf_dropped(cv, l, "off is mod_acme's behaviour");
        else acme_mdconf_gap(cv, l, e->text);
        break;
    case K_GAP:
        acme_mdconf_gap(cv, l, e->text);
        break;
    case K_DROP:
        acme_mdconf_dropped(cv, l, e->text);
        break;
    case K_SPECIAL:
        special(cv, l, e);
        break;
    }
}

/* ---- sections -------------------------------------------------------------------- */

/* The index of the line closing the section opened at `open`, or -1. */
static int section_end(const conv_t *cv, int open)
{
    int depth = 0;

    for (int i = open; i < cv->lines->nelts; i++) {
        const cline_t *l = &APR_ARRAY_IDX(cv->lines, i, cline_t);

        if (l->kind == L_OPEN) depth++;
        else if (l->kind == L_CLOSE && --depth == 0) return i;
    }
    return -1;
}

/* <MDomainSet names> ... </MDomainSet> as <ACMEDomainSet names+members> ... </ACMEDomainSet>. */
static void convert_set(conv_t *cv, int open, int close)
{
    const cline_t *ol = &APR_ARRAY_IDX(cv->lines, open, cline_t);
    const cline_t *cl = &APR_ARRAY_IDX(cv->lines, close, cline_t);
    int transitive = cv->members_auto;
    apr_array_header_t *names = domain_names(cv, ol->args, &transitive);

    cv->set_mandatory = 0;
    for (int i = open + 1; i < close; i++) {
        const cline_t *l = &APR_ARRAY_IDX(cv->lines, i, cline_t);

        if (l->kind != L_DIRECTIVE) continue;
        if (is(l->name, "MDMember") || is(l->name, "MDMembers")) {
            for (int j = 0; j < l->args->nelts; j++) {
                const char *w = APR_ARRAY_IDX(l->args, j, const char *);

                if (is_transitive_word(w)) transitive = is(w, "auto");
                else (void)acme_names_add(cv->p, names, w);
            }
        }
        else if (is(l->name, "MDProfileMandatory") && l->args->nelts) {
            cv->set_mandatory = is(APR_ARRAY_IDX(l->args, 0, const char *), "on");
        }
    }
    if (transitive) add_vhost_names(cv, names);
    if (names->nelts == 0) {
        acme_mdconf_gap(cv, ol, "the section names no domain");
        return;
    }
    cv->in_set = 0;         /* the tag itself is at server level */
    acme_mdconf_converted(cv, ol, apr_pstrcat(cv->p, "<ACMEDomainSet ", acme_mdconf_joined(cv->p, names), ">", NULL));
    cv->in_set = 1;
    for (int i = open + 1; i < close; i++) {
        const cline_t *l = &APR_ARRAY_IDX(cv->lines, i, cline_t);

        if (l->kind == L_DIRECTIVE && (is(l->name, "MDMember") || is(l->name, "MDMembers"))) {
            cv->res->converted++;   /* its names are in the tag */
        }
        else if (is_md_directive(l)) {
            convert_directive(cv, l);
        }
        else {
            acme_mdconf_emit(cv, l->raw);
        }
    }
    cv->in_set = 0;
    acme_mdconf_emit(cv, apr_pstrcat(cv->p, cl->indent, "</ACMEDomainSet>", NULL));
}

/* LoadModule md_module and <IfModule md_module> become mod_acme's. */
static int convert_module_line(conv_t *cv, const cline_t *l)
{
    const char *arg = l->args->nelts ? APR_ARRAY_IDX(l->args, 0, const char *) : "";
    const char *neg = *arg == '!' ? "!" : "";

    if (l->kind == L_DIRECTIVE && is(l->name, "LoadModule") && l->args->nelts == 2
        && is(arg, "md_module")) {
        const char *path = APR_ARRAY_IDX(l->args, 1, const char *), *slash = strrchr(path, '/');
        const char *dir = slash ? apr_pstrmemdup(cv->p, path, (apr_size_t)(slash - path + 1)) : "";
        apr_array_header_t *a = apr_array_make(cv->p, 2, sizeof(const char *));

        APR_ARRAY_PUSH(a, const char *) = "acme_module";
        APR_ARRAY_PUSH(a, const char *) = apr_pstrcat(cv->p, dir, "mod_acme.so", NULL);
        acme_mdconf_comment(cv, l, "on Debian: a2dismod md; a2enmod acme");
        acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "LoadModule ", acme_mdconf_joined(cv->p, a), NULL));
        return 1;
    }
    if (l->kind == L_OPEN && is(l->name, "IfModule")
        && (is(arg + strlen(neg), "md_module") || is(arg + strlen(neg), "mod_md.c"))) {
        acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "<IfModule ", neg, "acme_module>", NULL));
        return 1;
    }
    return 0;
}

/* What the whole file sets at server level, before converting line by line. */
static void survey(conv_t *cv)
{
    int depth_set = 0, depth_vhost = 0, any_md = 0;

    cv->members_auto = 1;
    for (int i = 0; i < cv->lines->nelts; i++) {
        const cline_t *l = &APR_ARRAY_IDX(cv->lines, i, cline_t);
        int top = !depth_set && !depth_vhost;

        if (l->kind == L_OPEN && is_md_set(l)) { depth_set++; any_md = 1; continue; }
        if (l->kind == L_CLOSE && is_md_set(l)) { depth_set -= depth_set > 0; continue; }
        if (l->kind == L_OPEN && is(l->name, "VirtualHost")) { depth_vhost++; continue; }
        if (l->kind == L_CLOSE && is(l->name, "VirtualHost")) { depth_vhost -= depth_vhost > 0; continue; }
        if (l->kind != L_DIRECTIVE) continue;
        if (is(l->name, "MDomain")) any_md = 1;
        if (is(l->name, "MDMessageCmd")) cv->has_msg_cmd = 1;
        if (!top || l->args->nelts == 0) continue;
        if (is(l->name, "MDPrivateKeys")) cv->global_pkeys = 1;
        if ((is(l->name, "MDMembers") || is(l->name, "MDMember")) && l->args->nelts == 1
            && is_transitive_word(APR_ARRAY_IDX(l->args, 0, const char *))) {
            cv->members_auto = is(APR_ARRAY_IDX(l->args, 0, const char *), "auto");
        }
        if (is(l->name, "MDProfileMandatory")) {
            cv->mandatory_global = is(APR_ARRAY_IDX(l->args, 0, const char *), "on");
        }
    }
    cv->keytype_pending = any_md && !cv->global_pkeys;
}

static void header(conv_t *cv, const char *name)
{
    apr_array_header_t *g = apr_array_make(cv->p, 4, sizeof(const char *));
    apr_array_header_t *head = apr_array_make(cv->p, 8, sizeof(const char *));

    for (int i = 0; i < cv->res->gaps->nelts; i++) {
        const acme_mdconf_gap_t *x = APR_ARRAY_IDX(cv->res->gaps, i, acme_mdconf_gap_t *);

        APR_ARRAY_PUSH(g, const char *) = apr_psprintf(cv->p, "#   %s (line %d): %s",
                                                       x->directive, x->line, x->why);
    }
    APR_ARRAY_PUSH(head, const char *) = apr_psprintf(cv->p, "# Converted from mod_md by "
        "acmectl convert-config from %s: %d mod_md directive%s converted, %d without a mod_acme "
        "equivalent%s", name ? name : "(input)", cv->res->converted,
        cv->res->converted == 1 ? "" : "s", g->nelts, g->nelts ? " (commented out below):" : ".");
    for (int i = 0; i < g->nelts; i++) {
        APR_ARRAY_PUSH(head, const char *) = APR_ARRAY_IDX(g, i, const char *);
    }
    APR_ARRAY_PUSH(head, const char *) = "# Read the lines marked \"# mod_acme:\". Accounts and "
        "certificates: acmectl import --from-mod-md DIR.";
    apr_array_cat(head, cv->out);
    cv->out = head;
}

apr_status_t acme_mdconf_convert(apr_pool_t *p, const char *data, apr_size_t len,
                                 const char *name, acme_mdconf_t **out, const char **err)
{
    conv_t cv;
    int depth_vhost = 0;

    *out = NULL;
    *err = NULL;
    if (!data || len > INPUT_MAX || memchr(data, '\0', len)) {
        *err = "the input is not a configuration text (too large or binary)";
        return APR_EINVAL;
    }
    memset(&cv, 0, sizeof(cv));
    cv.p = p;
    cv.lines = apr_array_make(p, 64, sizeof(cline_t));
    cv.out = apr_array_make(p, 64, sizeof(const char *));
    cv.vhosts = apr_array_make(p, 8, sizeof(apr_array_header_t *));
    cv.res = apr_pcalloc(p, sizeof(*cv.res));
    cv.res->gaps = apr_array_make(p, 4, sizeof(acme_mdconf_gap_t *));
    acme_mdconf_read_lines(&cv, data, len);
    collect_vhosts(&cv);
    survey(&cv);
    for (int i = 0; i < cv.lines->nelts; i++) {
        const cline_t *l = &APR_ARRAY_IDX(cv.lines, i, cline_t);

        if (l->kind == L_OPEN && is_md_set(l)) {
            int close = section_end(&cv, i);

            if (close < 0) {
                *err = apr_psprintf(p, "line %d: <%s> is not closed", l->lineno, l->name);
                return APR_EINVAL;
            }
            cv.in_vhost = depth_vhost > 0;
            convert_set(&cv, i, close);
            i = close;
            continue;
        }
        if (l->kind == L_OPEN && is(l->name, "VirtualHost")) depth_vhost++;
        if (l->kind == L_CLOSE && is(l->name, "VirtualHost")) depth_vhost -= depth_vhost > 0;
        cv.in_vhost = depth_vhost > 0;
        if (convert_module_line(&cv, l)) {
            continue;
        }
        if (is_md_directive(l)) {
            convert_directive(&cv, l);
        }
        else {
            acme_mdconf_emit(&cv, l->raw);
        }
    }
    header(&cv, name);
    cv.res->text = apr_pstrcat(p, apr_array_pstrcat(p, cv.out, '\n'), "\n", NULL);
    *out = cv.res;
    return APR_SUCCESS;
}
