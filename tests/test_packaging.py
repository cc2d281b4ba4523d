"""A wheel carries the templates, migrations, translations and styles it needs."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", out, ROOT],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("consent_manager-*.whl")
    return built


def test_wheel_holds_every_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "consent/templates/base.html",
        "consent/templates/auth/register.html",
        "consent/migrations/env.py",
        "consent/migrations/script.py.mako",
        "consent/translations/fr/LC_MESSAGES/messages.mo",
        "consent/static/style.css",
        "consent/data/directory/snapshot.json.gz",
    }
    assert expected <= names, sorted(expected - names)
    migrations = {n for n in names if n.startswith("consent/migrations/versions/") and n.endswith(".py")}
    assert len(migrations) == len(list((ROOT / "migrations/versions").glob("*.py")))
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)


def test_installed_package_finds_its_resources_without_the_checkout(wheel, tmp_path):
    """Unpacked away from the repository, the app still finds templates and migrations."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = "import consent.resources as r; print(r.resource_dir('templates')); print(r.resource_dir('migrations'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [str(site / "consent/templates"), str(site / "consent/migrations")]


@pytest.mark.parametrize(("args", "port"), [([], "5000"), (["PORT=5001"], "5001")])
def test_make_run_serves_on_5000_or_the_port_asked_for(args, port):
    """`make run` keeps the README's address; `make run PORT=5001` serves beside a busy 5000."""
    make = shutil.which("make")
    assert make, "make is missing: the README's two commands need it"
    dry = subprocess.run([make, "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    (serve,) = [line for line in dry.splitlines() if " run --host" in line]
    assert serve.endswith(f"--host 127.0.0.1 --port {port}")
