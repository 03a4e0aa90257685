"""One backend per device family: how to place, time and measure a model on it."""
