"""The product's version, as installed."""

from importlib import metadata

DISTRIBUTION = "caddie-exchange-sync"


def product_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
