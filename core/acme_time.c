/* core/acme_time.c: placeholder until implemented. */
