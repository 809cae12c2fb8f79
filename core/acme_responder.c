/* core/acme_responder.c: placeholder until implemented. */
