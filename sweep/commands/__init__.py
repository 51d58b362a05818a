"""One module per CLI verb. Each exposes a plain function that tests call without argv."""
