/* core/acme_order.h: placeholder until implemented. */
