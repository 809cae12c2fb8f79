/* core/acme_jws.c: placeholder until implemented. */
