/* core/acme_x509.c: placeholder until implemented. */
