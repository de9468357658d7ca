"""Uses the mock's pytest plugin exactly as a downstream bot repository would."""

pytest_plugins = ["standx_mock.pytest_plugin"]
