"""`seal bench ki` and `seal bench forget`: SEAL's knowledge-incorporation conditions and
sequential forgetting, with and without replay, on a SQuAD/SEAL-format file.

ki: each passage independently from the base model, under the conditions
  base      no update
  passage   trained on the passage alone
  edits     passage + every self-edit that passes the heuristic gate
  filtered  passage + the self-edits the reward filter keeps (its reward against the base
            model, or with reward_vs="passage" against a trial on the passage alone)
scored closed-book on the passage's own questions (answer NLL, greedy F1 and contains).
forget: passages applied in sequence as a session does, once plain and once with replay.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from engine.config import FilterConfig, GenerationConfig, SessionConfig, TrainConfig
from engine.domain import PaperDraft, PassageDraft
from engine.evaluate import contains_match, probe_prompt, summarize, token_f1
from engine.reward_filter import Trial, verdicts
from engine.selfedit import build_messages, gate, resolve_strategy, to_examples

CONDITIONS = ("base", "passage", "edits", "filtered")


def passages_of(drafts: list[PaperDraft], limit: int) -> list[PassageDraft]:
    """The first `limit` passages that come with questions."""
    return [p for d in drafts for p in d.passages if p.questions][:limit]


def _unique(examples: list[str]) -> list[str]:
    return list(dict.fromkeys(examples))


def knowledge_incorporation(runtime, passages: list[PassageDraft], config: SessionConfig,
                            log: Callable[[str], None]) -> dict:
    """Mean answer NLL, F1 and contains per condition over all questions of the passages."""
    strategy = resolve_strategy(config.strategy)
    trial_train = replace(config.train, epochs=config.filter.trial_epochs)
    totals = {c: {"answer_nll": [], "f1": [], "contains": []} for c in CONDITIONS}
    started = time.perf_counter()
    for n, p in enumerate(passages, 1):
        items = [(probe_prompt(p.title, q), a) for q, a in p.questions]
        prompts = [prompt for prompt, _ in items]
        gold = [a for _, a in p.questions]
        passage_example = f"{p.title}\n{p.text}"
        messages = build_messages(strategy, p.title, p.text)
        candidates = [
            "".join(runtime.stream_chat(messages, replace(config.generation, seed=(config.generation.seed or 0) + k))).strip()
            for k in range(config.generation.candidates)
        ]
        prompt_text = "\n".join(m["content"] for m in messages)
        kept_by_gate = [c for c, v in zip(candidates, gate(candidates, p.text, prompt_text, strategy.name)) if v.ok]
        base_nll = runtime.answer_nll(None, True, items)
        alone = [passage_example] if config.filter.reward_vs == "passage" else []
        reference = runtime.trial(None, alone, trial_train, items).nll if alone else base_nll
        trials = []
        for i, c in enumerate(kept_by_gate):
            result = runtime.trial(None, to_examples(c, p.title, p.text, strategy.name) + alone, trial_train, items)
            reward = sum(reference) / len(reference) - sum(result.nll) / len(result.nll)
            trials.append(Trial(_Cand(i, c), reward, 0.0))
        f = config.filter
        chosen = verdicts(trials, f.min_gain, f.budget, f.top_k)
        filtered = [t.edit.text for t in trials if chosen[t.edit.id][0]]
        examples = {
            "passage": [passage_example],
            "edits": _unique([x for c in kept_by_gate for x in to_examples(c, p.title, p.text, strategy.name)] + [passage_example]),
            "filtered": _unique([x for c in filtered for x in to_examples(c, p.title, p.text, strategy.name)] + [passage_example]),
        }
        scored = {"base": (base_nll, runtime.greedy_answers(None, True, prompts))}
        for cond, ex in examples.items():
            result = runtime.trial(None, ex, config.train, items, greedy_prompts=prompts)
            scored[cond] = (result.nll, result.answers)
        for cond, (nll, answers) in scored.items():
            totals[cond]["answer_nll"] += nll
            totals[cond]["f1"] += [token_f1(a, g) for a, g in zip(answers, gold)]
            totals[cond]["contains"] += [contains_match(a, g) for a, g in zip(answers, gold)]
        means = {c: sum(scored[c][0]) / len(scored[c][0]) for c in CONDITIONS}
        log(f"passage {n}/{len(passages)}: " + "  ".join(f"{c}={v:.2f}" for c, v in means.items())
            + f"  (gate kept {len(kept_by_gate)}/{len(candidates)}, filter kept {len(filtered)})")
    return {
        "conditions": {c: {k: round(sum(v) / len(v), 4) for k, v in m.items()} for c, m in totals.items()},
        "passages": len(passages),
        "questions": sum(len(p.questions) for p in passages),
        "seconds": round(time.perf_counter() - started, 1),
    }


class _Cand:
    """A candidate in the shape reward_filter.verdicts reads (id and text)."""

    def __init__(self, id: int, text: str):
        self.id, self.text = id, text


def forgetting(runtime, passages: list[PassageDraft], config: SessionConfig, replay: float,
               log: Callable[[str], None]) -> dict:
    """Sequential updates on the passages, plain and with replay: matrices and BWT."""
    from engine.home import Home

    paper = PaperDraft("benchmark", "bench", f"forget-{len(passages)}", tuple(passages))
    runs = {}
    for name, ratio in (("plain", 0.0), ("replay", replay)):
        with tempfile.TemporaryDirectory() as tmp:
            home = Home(Path(tmp))
            cfg = replace(config, train=replace(config.train, replay=ratio))
            session = home.open(name, cfg, runtime)
            session.add_paper(paper)
            t0 = time.perf_counter()
            session.run(lambda e: None)
            matrix = session.matrix()
            _, bwt = summarize(matrix)
            diagonal = [matrix.cell(v, p) for p, v in matrix.learned_at.items()]
            runs[name] = {"matrix": matrix.values, "bwt": bwt, "replay": ratio,
                          "diagonal_mean": sum(diagonal) / len(diagonal), "seconds": round(time.perf_counter() - t0, 1)}
            log(f"{name}: BWT {bwt:+.3f}, mean just-learned NLL {runs[name]['diagonal_mean']:.3f}")
            home.close()
    return {"runs": runs}


def bench_config(edits: int, epochs: int, max_tokens: int, reward_vs: str = "version") -> SessionConfig:
    return SessionConfig(
        accept="heuristic", probes="given",
        generation=GenerationConfig(candidates=edits, max_tokens=max_tokens, seed=1234),
        train=TrainConfig(epochs=epochs), filter=FilterConfig(reward_vs=reward_vs),
    )
