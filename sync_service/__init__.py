"""The synchronisation service: owns the PC CADDIE data, detects changes, runs the sync cycle."""
