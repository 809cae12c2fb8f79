/* core/acme_key.c: placeholder until implemented. */
