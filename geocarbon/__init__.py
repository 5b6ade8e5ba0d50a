"""geocarbon: territory pipelines for carbon stocks and flows per commune.

The package computes, per commune of a territory, land-use areas from a categorical
raster, carbon stocks by category and pool following ADEME's ALDO method (or a
generic IPCC-based coefficient set), and writes GeoPackages and interactive maps.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geocarbon")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
