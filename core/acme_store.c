/* core/acme_store.c: placeholder until implemented. */
