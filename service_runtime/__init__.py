"""What both processes share at run time: the home folder, config, logging, status files, signals and
the command-line helpers. The wire itself is `protocol/`."""
