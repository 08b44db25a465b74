"""One module per log format. Each exposes a `Parser` class (see `formats.base.Parser`)."""
