"""The package version, in a leaf module so that every tier (saving writes it into model files,
the CLI prints it) can read it without importing the package facade."""

__version__ = "0.1.0"
