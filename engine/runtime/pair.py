"""A Runtime made of a writer and a learner that are different objects, e.g. a served writer
(engine.runtime.served) beside the local learner (engine.runtime.local): each call goes to the
role it belongs to, bound once here so that the pair is typed as its parts are."""

from __future__ import annotations

from engine.runtime.protocol import Learner, Steps, Writer


class Pair:
    """Writing goes to `writer`; learning, scoring, the model's name and status to `learner`."""

    def __init__(self, writer: Writer, learner: Learner):
        self.writer, self.learner = writer, learner
        self.writer_steps, self.activate, self.stream_chat, self.who = (
            writer.writer_steps,
            writer.activate,
            writer.stream_chat,
            writer.who,
        )
        self.learner_steps, self.chat_prompt, self.answer_nll, self.greedy_answers = (
            learner.learner_steps,
            learner.chat_prompt,
            learner.answer_nll,
            learner.greedy_answers,
        )
        self.fits, self.train, self.trial, self.save_adapter, self.identity, self.status = (
            learner.fits,
            learner.train,
            learner.trial,
            learner.save_adapter,
            learner.identity,
            learner.status,
        )

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
