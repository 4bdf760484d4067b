"""Software-defined assets and asset checks; their SQL models live in assets/sql/."""
