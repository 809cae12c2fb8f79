/* core/acme_account.c: placeholder until implemented. */
