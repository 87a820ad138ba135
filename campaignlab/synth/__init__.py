"""The graph-based synthetic campaign generator: presets, noise, pair preferences, calibration."""
