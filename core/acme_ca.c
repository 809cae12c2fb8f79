/* core/acme_ca.c: placeholder until implemented. */
