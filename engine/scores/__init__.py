"""Scores: probe prompts, the forgetting matrix and its summaries (evaluate), and the heatmap's
metrics (metrics)."""
