"""Learning: a passage's training examples and replay (training_examples), the guards of an
update (guards), the drift set (drift), the reward filter's trial updates (reward_filter)
and the self-improving editor's rounds (editor). The trainer itself is a runtime's
(engine.runtime.trainer); the recipe is a setting (engine.config.train)."""
