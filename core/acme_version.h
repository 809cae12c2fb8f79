/* acme_version.h: the project's version and the User-Agent it sends to CAs. */
#ifndef ACME_VERSION_H
#define ACME_VERSION_H

#define ACME_VERSION "0.1.0"
#define ACME_USER_AGENT "mod_acme/" ACME_VERSION

#endif
