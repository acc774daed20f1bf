"""A Runtime made of a writer and a learner that are different objects, e.g. a served writer
(engine.runtime.served) beside the local learner (engine.runtime.local): each call goes to the
role it belongs to, bound once here so that the pair is typed as its parts are."""

from __future__ import annotations

from engine.runtime.protocol import Learner, Steps, Writer


class Pair:
    """Writing goes to `writer`; learning, scoring, the model's name and status to `learner`."""

    def __init__(self, writer: Writer, learner: Learner):
        self.writer, self.learner = writer, learner
        # writing
        self.writer_steps = writer.writer_steps
        self.activate = writer.activate
        self.stream_chat = writer.stream_chat
        self.who = writer.who
        # learning and scoring
        self.learner_steps = learner.learner_steps
        self.chat_prompt = learner.chat_prompt
        self.answer_nll = learner.answer_nll
        self.greedy_answers = learner.greedy_answers
        self.fits = learner.fits
        self.train = learner.train
        self.trial = learner.trial
        self.save_adapter = learner.save_adapter
        self.identity = learner.identity
        self.status = learner.status

    @property
    def name(self) -> str:
        return self.learner.name

    def load_steps(self) -> Steps:
        """One step, as the app has always shown a writer that is not the local model's."""
        return [("loading the model", self.load)]

    def load(self) -> None:
        """The learner's steps, then the writer's (a served writer has none: the server is
        first asked when a self-edit is written)."""
        for _, step in self.learner.learner_steps() + self.writer.writer_steps():
            step()

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.learner.close()
