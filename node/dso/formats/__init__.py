"""The DSO file formats: Austrian community data (EDA) exports and Enedis load curves."""
