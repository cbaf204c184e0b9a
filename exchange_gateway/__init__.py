"""The Exchange gateway: the only process that talks to Exchange (EWS), serving the sync service."""
