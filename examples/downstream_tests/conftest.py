"""A downstream bot repository's root conftest.py: opt in to the mock exchange's fixtures."""

pytest_plugins = ["standx_mock.pytest_plugin"]
