/* core/acme_status.c: placeholder until implemented. */
