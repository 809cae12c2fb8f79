/* acme_hint.c: hints for failures, worded for httpd (directive names) or acmectl (option names) from one set of texts. */
#include <apr_strings.h>

#include "acme_hint.h"

static const char *const settings[ACME_SETTING_COUNT][2] = {
    [ACME_SETTING_EAB] = { "ACMEExternalAccountBinding", "--eab-kid and --eab-hmac" },
    [ACME_SETTING_TOS] = { "'ACMETermsOfService accepted'", "--agree-tos" },
    [ACME_SETTING_CA_CERT] = { "ACMECACertificateFile", "--ca-cert" },
    [ACME_SETTING_PROXY] = { "ACMEHttpProxy", "--http-proxy" },
    [ACME_SETTING_CHALLENGES] = { "ACMEChallenges", "--webroot (http-01) or --dns-command (dns-01)" },
    [ACME_SETTING_DNS_COMMAND] = { "ACMEDNSCommand", "--dns-command" },
    [ACME_SETTING_PORT_80] = { "check that port 80 reaches httpd (ACMEPortMap)",
                               "check that port 80 of that name serves the --webroot directory" },
    [ACME_SETTING_PORT_443] = { "check that port 443 reaches httpd (ACMEPortMap)",
                                "acmectl does not answer tls-alpn-01" },
    [ACME_SETTING_TOKEN] = { "a token command or a token file", "--token-command or --token-file" },
};

const char *acme_setting_name(acme_ui_e ui, acme_setting_e s)
{
    if ((unsigned)s >= ACME_SETTING_COUNT) {
        return "";
    }
    return settings[s][ui == ACME_UI_CLI ? 1 : 0];
}

static const char *or_none(const char *s)
{
    return s && *s ? s : "no detail";
}

const char *acme_hint(apr_pool_t *p, acme_ui_e ui, acme_hint_e h, const char *a,
                      const char *b, const char *c)
{
#define S(x) acme_setting_name(ui, ACME_SETTING_##x)
    const char *set = ui == ACME_UI_CLI ? "pass" : "set";   /* an option is passed */

    switch (h) {
    case ACME_HINT_UNREACHABLE:
        return apr_psprintf(p, "cannot reach the CA at %s: check the network, %s and %s",
                            a ? a : "?", S(PROXY), S(CA_CERT));
    case ACME_HINT_RATE_LIMITED:
        return ui == ACME_UI_CLI ? "the CA's rate limit was hit; try again later"
                                 : "the CA's rate limit was hit; the drive waits before trying "
                                   "again";
    case ACME_HINT_EAB_REQUIRED:
        return apr_psprintf(p, "%s %s with the key id and HMAC key the CA gave you", set,
                            S(EAB));
    case ACME_HINT_EAB_REJECTED:
        return apr_psprintf(p, "the CA refused the External Account Binding: check the key id "
                            "and the HMAC key (%s)", S(EAB));
    case ACME_HINT_TOS:
        return apr_psprintf(p, "review the CA's terms of service%s%s and %s %s",
                            a ? " at " : "", a ? a : "", set, S(TOS));
    case ACME_HINT_WILDCARD_DNS:
        return apr_psprintf(p, "wildcard names need dns-01: %s %s", set, S(DNS_COMMAND));
    case ACME_HINT_NO_CHALLENGE:
        return apr_psprintf(p, "allow a challenge type this server can answer (%s)",
                            S(CHALLENGES));
    case ACME_HINT_DNS_COMMAND_FAILED:
        return apr_psprintf(p, "the DNS command (%s) failed; see its output above",
                            S(DNS_COMMAND));
    case ACME_HINT_PUBLISH_FAILED:
        return "cannot publish the challenge answer";
    case ACME_HINT_HTTP01:
        return apr_psprintf(p, "the CA could not reach http://%s/.well-known/acme-challenge/%s "
                            "(%s): %s", a ? a : "?", b ? b : "?", S(PORT_80), or_none(c));
    case ACME_HINT_TLSALPN01:
        return apr_psprintf(p, "the CA could not validate %s on port 443 with ALPN acme-tls/1 "
                            "(%s): %s", a ? a : "?", S(PORT_443), or_none(c));
    case ACME_HINT_DNS01:
        return apr_psprintf(p, "the CA did not find the TXT record _acme-challenge.%s (check %s): "
                            "%s", a ? a : "?", S(DNS_COMMAND), or_none(c));
    case ACME_HINT_TKAUTH01:
        return apr_psprintf(p, "the CA did not accept the Authority Token for %s (see README "
                            "\"STIR/SHAKEN certificates\"): %s", a ? a : "?", or_none(c));
    case ACME_HINT_TNAUTH_NEEDS_TOKEN:
        return apr_psprintf(p, "a TNAuthList needs tkauth-01: give %s", S(TOKEN));
    default:
        return "";
    }
#undef S
}
