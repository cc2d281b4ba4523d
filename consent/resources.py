"""Where the app finds its templates and migrations, installed or in a checkout.

They live at the top of the repository; a wheel carries them inside the package (see
pyproject.toml), so both places are tried, the package first.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"{name}/ is neither in {_PACKAGE} nor beside it")
