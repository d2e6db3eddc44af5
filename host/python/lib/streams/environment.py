"""The packages of an activated virtualenv ($VIRTUAL_ENV), which the embedded
interpreter does not find by itself: the host is not the venv's python."""
import os
import pkgutil
import site
import sys

_said = False


def use_virtualenv(venv):
    """Puts `venv`'s ($VIRTUAL_ENV, as the process has it now) site-packages (its .pth files read, as Python's
    own start-up reads them) on sys.path before the system's packages.
    Returns, the first time only, (level, line) for the log: "info" when
    used, "warn" when the venv is another Python's; else None."""
    global _said
    if _said or not venv:
        return None
    _said = True
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = os.path.join(venv, "lib", version, "site-packages")
    if not os.path.isdir(packages):
        return ("warn", f"python: the virtualenv VIRTUAL_ENV={venv} has no lib/{version}/"
                        f"site-packages (made with another Python than the host's {version}?): "
                        "its packages are not used")
    before = list(sys.path)
    site.addsitedir(packages)
    added = [p for p in sys.path if p not in before]
    at = next((i for i, p in enumerate(before)
               if p.endswith(("site-packages", "dist-packages"))), len(before))
    sys.path[:] = before[:at] + added + before[at:]
    return ("info", f"python: the packages of the virtualenv {venv} ({packages}) come before "
                    "the system's")


def module_names():
    """The top-level modules an import can find now (sys.path's and the
    built-in ones), for a "did you mean" after one that failed."""
    return [m.name for m in pkgutil.iter_modules()] + list(sys.builtin_module_names)
