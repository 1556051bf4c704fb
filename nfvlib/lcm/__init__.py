"""VNF lifecycle management: SOL003 operation occurrences run as journaled plans."""
