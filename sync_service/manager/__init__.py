"""`sync-service manager`: the service manager window (issue 18; docs/manager.md)."""
