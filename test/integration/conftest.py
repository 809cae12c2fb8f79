"""Integration test configuration: loads the Pebble/acmectl fixtures and the httpd fixtures."""
pytest_plugins = ["fixtures.ca", "fixtures.httpd", "fixtures.stepca"]
