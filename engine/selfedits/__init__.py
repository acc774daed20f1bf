"""Self-edits: the strategies that write them (selfedit), reading them into lines (edit_lines),
the gate and grounding (gate), edits imported from a file (imported_edits) and the accept
policies (policies). Nothing here runs a model."""
