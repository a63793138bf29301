"""Programs written by the property tests, imported from files as a user's modules are, so
that s2s reads their source as it reads any module's."""
import importlib.util
import itertools
import sys

_module_numbers = itertools.count()


def import_source(source, directory, prefix):
    """Write ``source`` to a new module ``<prefix>_<n>.py`` in ``directory`` and import it:
    (the module, its path)."""
    name = f"{prefix}_{next(_module_numbers)}"
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module            # inspect finds the source through sys.modules
    spec.loader.exec_module(module)
    return module, str(path)
