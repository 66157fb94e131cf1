"""MLflow 3 scorer tests (a package, so its conftest never clashes with another folder's)."""
