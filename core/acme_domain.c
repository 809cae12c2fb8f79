/* core/acme_domain.c: placeholder until implemented. */
