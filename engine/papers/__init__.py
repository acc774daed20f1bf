"""Papers: reading a file into passages (ingest, paper_formats, passages, paper_questions), and
the probes that measure each passage (probes)."""
