"""genocompile: neural-architecture-search genotypes in, verified inference artifacts out."""

__version__ = "0.1.0"

from genocompile.errors import GenocompileError, GenotypeError  # noqa: E402
from genocompile.genotype import load_genotype  # noqa: E402

__all__ = ["__version__", "GenocompileError", "GenotypeError", "load_genotype"]
