"""The spec's test configuration lives in its pytest plugin, spec_tests/plugin.py, so that an
installed package runs the same way (``pytest --pyargs spec_tests``) from any folder.

Installed (bin/setup does it, editable), the plugin comes through its ``pytest11`` entry point,
which is named after the module: then the line below does nothing.  Without the install (a clone
on PYTHONPATH, or PYTEST_DISABLE_PLUGIN_AUTOLOAD=1), it loads the plugin from here.
"""

pytest_plugins = ["spec_tests.plugin"]
