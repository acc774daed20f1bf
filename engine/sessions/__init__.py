"""Sessions: the session (session) and its loop (session_loop, session_writing,
session_scoring), who may act on it (session_access), adapter routing (routing), the home
that opens sessions with their model (home), and export."""
