"""A simulated household meter, so the whole pipeline runs without hardware."""
