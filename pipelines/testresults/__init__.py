"""Test results: JUnit XML and plugin readers, archives, artifacts and the loader."""
