"""I/O at the edges: decoding, encoding, table schemas, atomic writes."""
