"""The Debian package tests use the integration tests' fixtures (Pebble, httpd helpers)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

pytest_plugins = ["fixtures.ca"]
