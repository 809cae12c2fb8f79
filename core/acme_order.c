/* core/acme_order.c: placeholder until implemented. */
