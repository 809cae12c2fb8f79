"""Integration test configuration: loads the Pebble/acmectl fixtures, the httpd fixtures and the fleet (Redis + three httpd) fixtures."""
pytest_plugins = ["fixtures.ca", "fixtures.httpd", "fixtures.stepca", "fixtures.fleet"]
