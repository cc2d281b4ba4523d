"""Domain code stands on its own: importing it pulls in neither Flask nor SQLAlchemy."""

import subprocess
import sys

import pytest

PURE = [
    "consent.keys",
    "consent.passwords",
    "consent.errors",
    "consent.config",
    "consent.deadlines",
    "consent.places",
    "consent.directory.authorities",
    "consent.guide",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_neither_flask_nor_the_database(module):
    code = (
        f"import sys, {module}; "
        "web = {'flask', 'sqlalchemy', 'flask_login', 'flask_wtf'}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in web); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"


def test_services_import_neither_flask_nor_the_web_layer():
    code = (
        "import sys, consent.services.accounts, consent.services.profiles; "
        "print(sorted(m for m in sys.modules if m.startswith('consent.web') or m.split('.')[0] == 'flask'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
