"""bench.lib: shared helpers of the mod_acme benchmarks (Pebble, httpd configs, TLS probe, statistics)."""
