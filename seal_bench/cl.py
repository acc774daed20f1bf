"""`seal bench ki` and `seal bench forget`: SEAL's knowledge-incorporation conditions and
sequential forgetting, on a SQuAD/SEAL-format file.

ki: each passage independently from the base model, under the conditions
  base      no update
  passage   trained on the passage alone
  edits     passage + every self-edit that passes the heuristic gate
  filtered  passage + the self-edits the reward filter keeps (its reward against the base
            model, or with reward_vs="passage" against a trial on the passage alone)
  teacher   passage + the first self-edit of a SEAL-format file (--edits-from: a stronger
            writer's), when given
Every condition trains with the session's recipe (anchor, per-epoch check). Each passage's
questions are split as a session splits them: the filter and the per-epoch check read the
reward probes, and only the held-out probes are reported, beside the drift set's report
questions. Per condition: own-passage change, drift change, and specific gain (drift change
minus own change: what the update taught about this passage beyond moving the model as a
whole; positive is good).
forget: passages applied in sequence as a session does: the default recipe plain and with
replay, SEAL's preset, and per-paper adapters (each passage its own paper, so its own chain).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from engine.config import FilterConfig, GenerationConfig, SessionConfig, TrainConfig, preset
from engine.domain import PaperDraft, Passage, PassageDraft, Probe, SelfEdit
from engine.learning.drift import drift_items
from engine.learning.guards import probe_items, reward_items, training_guards
from engine.learning.reward_filter import (
    Trial,
    passage_alone,
    reference_nll,
    reward_and_damage,
    trial_examples,
    trial_recipe,
    verdicts,
)
from engine.learning.training_examples import passage_examples, repeat_passage
from engine.papers.probes import FAMILIES, recall_roles, split_probes
from engine.runtime.ray_pool import Serial, Workers
from engine.scores.evaluate import summarize
from engine.selfedits.gate import passage_verdicts
from engine.selfedits.imported_edits import IMPORTED
from engine.selfedits.selfedit import build_messages, resolve_strategy

CONDITIONS = ("base", "passage", "edits", "filtered", "teacher")
FORGET_RUNS = ("plain", "replay", "seal", "per-paper")


def passages_of(drafts: list[PaperDraft], limit: int, first: int = 0) -> list[PassageDraft]:
    """`limit` passages that come with questions, from the `first` one on."""
    return [p for d in drafts for p in d.passages if p.questions][first : first + limit]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _measured(values: list[float | None]) -> list[float]:
    """Matrix cells a run has measured, narrowed to floats (they are all filled in)."""
    out = [v for v in values if v is not None]
    assert len(out) == len(values), "a matrix cell the run should have measured is empty"
    return out


def _stored(p: PassageDraft) -> Passage:
    """The passage as a session stores it, without a store (ids count from 0): its questions
    and recall probes beside them, each with the role a session gives it."""
    roles = split_probes(p.title, p.text, list(p.questions), "given") + recall_roles(p.title, p.text)
    probes = tuple(Probe(i, 0, kind, q, a, role) for i, (kind, q, a, role) in enumerate(roles))
    return Passage(id=0, paper_id=0, position=0, title=p.title, text=p.text, status="new", probes=probes)


def _edits(texts: list[str], strategy: str) -> list[SelfEdit]:
    """Self-edits of a passage not stored (ids count from 0), as a session reads them."""
    return [SelfEdit(id=i, passage_id=0, strategy=strategy, text=t, status="pending") for i, t in enumerate(texts)]


def _candidates(runtime, passage: Passage, config: SessionConfig) -> list[SelfEdit]:
    """The model's self-edits that pass the heuristic gate, each sampled as a session samples
    its candidates (seed + index)."""
    strategy = resolve_strategy(config.strategy)
    messages = build_messages(strategy, passage.title, passage.text)
    written = [
        "".join(
            runtime.stream_chat(messages, replace(config.generation, seed=(config.generation.seed or 0) + k))
        ).strip()
        for k in range(config.generation.candidates)
    ]
    edits = _edits(written, strategy.name)
    gated = passage_verdicts(strategy, passage, edits)
    return [e for e in edits if gated[e.id].ok]


def _filtered(runtime, passage: Passage, kept: list[SelfEdit], config: SessionConfig) -> list[SelfEdit]:
    """The candidates the reward filter keeps, from trials as a session's filter runs them on
    a passage learned first (from the base model, so no anchor probes)."""
    train, reward_vs = trial_recipe(config), config.filter.reward_vs
    reward, guards = reward_items(passage), training_guards(passage)
    before = reference_nll(runtime, None, True, passage_alone(passage, reward_vs), train, reward, guards=guards)
    assert before is not None  # nothing stops the benchmark's trials
    trials = []
    for edit in kept:
        after = runtime.trial(None, trial_examples(passage, edit, reward_vs), train, reward, guards=guards).nll
        trials.append(Trial(edit, *reward_and_damage(before, after, len(reward))))
    f = config.filter
    chosen = verdicts(trials, f.min_gain, f.budget, f.top_k)
    return [e for e in kept if chosen[e.id].kept]


def _drift_base(runtime, _start) -> float:
    """The base model's mean NLL on the drift set's report questions."""
    return _mean(runtime.answer_nll(None, True, drift_items("report")))


def _passage_scores(p: PassageDraft, config: SessionConfig, teacher, conditions: tuple[str, ...], runtime, _start):
    """One passage's conditions, from the base model: per probe family (held-out count, base
    NLL per held-out probe, per condition the NLL per held-out probe), and per condition the
    NLL per drift report question."""
    drift = drift_items("report")
    passage = _stored(p)
    heldout = {fam: probe_items(passage, "heldout", fam) for fam in FAMILIES}
    guards = training_guards(passage)
    grounding = config.train.grounding
    examples = {"passage": passage_examples(passage, [], grounding)}
    if "edits" in conditions or "filtered" in conditions:
        kept = _candidates(runtime, passage, config)
        examples["edits"] = passage_examples(passage, kept, grounding)
        if "filtered" in conditions:
            examples["filtered"] = passage_examples(passage, _filtered(runtime, passage, kept, config), grounding)
    if "teacher" in conditions:
        examples["teacher"] = passage_examples(
            passage, _edits(teacher.for_passage(p.title, p.text)[:1], IMPORTED), grounding
        )
    probes = [item for fam in FAMILIES for item in heldout[fam]]
    base = runtime.answer_nll(None, True, probes)
    trained = {
        cond: runtime.trial(
            None,
            repeat_passage(examples[cond], config.train.passage_repeats),
            config.train,
            probes + drift,
            guards=guards,
        ).nll
        for cond in conditions
        if cond != "base"
    }
    out, at = {}, 0
    for fam in FAMILIES:
        n = len(heldout[fam])
        out[fam] = (n, base[at : at + n], {cond: nll[at : at + n] for cond, nll in trained.items()})
        at += n
    return out, {cond: nll[at:] for cond, nll in trained.items()}


def knowledge_incorporation(
    runtime,
    passages: list[PassageDraft],
    config: SessionConfig,
    log: Callable[[str], None],
    teacher=None,
    conditions: tuple[str, ...] = CONDITIONS,
    pool: Workers | None = None,
) -> dict:
    """Per condition: mean held-out NLL, own change, drift change and specific gain, over
    all held-out questions of the passages (teacher: an engine.selfedits.imported_edits.ImportedEdits).
    Each passage is a job: on the pool's Ray workers when given, else one after another on
    `runtime`; the figures are the same either way."""
    conditions = tuple(c for c in conditions if c != "teacher" or teacher is not None)
    workers = pool or Serial(runtime)
    started = time.perf_counter()
    jobs = [partial(_passage_scores, p, config, teacher, conditions) for p in passages]
    results = workers.run([_drift_base, *jobs])
    drift_base = next(results)
    moved: dict[str, list[float]] = {c: [] for c in conditions if c != "base"}
    own: dict[str, dict[str, list[float]]] = {fam: {c: [] for c in conditions} for fam in FAMILIES}  # per family
    rows: dict[str, list[dict]] = {fam: [] for fam in FAMILIES}  # per passage, per family: mean NLLs
    counts = {fam: 0 for fam in FAMILIES}
    for n, (families, drift) in enumerate(results, 1):
        for cond, nll in drift.items():
            moved[cond].append(_mean(nll) - drift_base)
        for fam, (held, base, trained) in families.items():
            if not held:
                continue
            counts[fam] += held
            row = {"base": round(_mean(base), 4)}
            if "base" in own[fam]:
                own[fam]["base"] += base
            for cond, nll in trained.items():
                own[fam][cond] += nll
                row[cond] = round(_mean(nll), 4)
            rows[fam].append(row)
        shown = rows["question"][-1] if families["question"][0] else {}
        log(
            f"passage {n}/{len(passages)}: "
            + "  ".join(f"{c}={v:.2f}" for c, v in shown.items())
            + "  drift "
            + " ".join(f"{c}={v[-1]:+.2f}" for c, v in moved.items())
        )

    def report_of(fam: str) -> dict:  # held-out NLL over all probes; changes as means over passages
        report = {}
        for cond in conditions:
            out = {"heldout_nll": round(_mean(own[fam][cond]), 4) if own[fam][cond] else None}
            if cond != "base" and rows[fam]:
                own_change = _mean([r[cond] - r["base"] for r in rows[fam]])
                drift_change = _mean(moved[cond])
                out.update(
                    {
                        "own_change": round(own_change, 4),
                        "drift_change": round(drift_change, 4),
                        "specific_gain": round(drift_change - own_change, 4),
                        "better_than_base": sum(r[cond] < r["base"] for r in rows[fam]),
                    }
                )
            report[cond] = out
        return report

    report = report_of("question")
    per_passage, questions = rows["question"], counts["question"]
    return {
        "conditions": report,
        "recall": report_of("recall"),
        "recall_probes": counts["recall"],
        "per_passage": per_passage,
        "passages": len(passages),
        "heldout_questions": questions,
        "drift_base": round(drift_base, 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _forget_run(name: str, papers: list[PaperDraft], config: SessionConfig, runtime, _start) -> dict:
    """One run of `forgetting`: the papers through a session in a temporary home (on a runtime
    of its own when its LoRA shape differs, as SEAL's preset's does)."""
    from engine.runtime.factory import build_runtime
    from engine.runtime.protocol import LoraShape
    from engine.sessions.home import Home

    if not runtime.fits(LoraShape.of(config.train)):
        own = build_runtime(config.model, config.train)
        try:
            return _forget_run(name, papers, config, own, _start)
        finally:
            own.close()
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp))
        try:
            session = home.open(name, config, runtime)
            for paper in papers:
                session.add_paper(paper)
            t0 = time.perf_counter()
            session.run(lambda e: None)
            matrix = session.matrix()
        finally:
            home.close()
    _, bwt = summarize(matrix)
    diagonal = _measured([matrix.cell(v, p) for p, v in matrix.learned_at.items()])
    base, end = matrix.values[0], matrix.values[-1]
    below = sum(e < b for b, e in zip(base, end) if b is not None and e is not None)
    drift = [
        round(matrix.drift[v] - matrix.drift[0], 4) for v in matrix.rows if v in matrix.drift and 0 in matrix.drift
    ]
    return {
        "matrix": matrix.values,
        "bwt": bwt,
        "replay": config.replay,
        "diagonal_mean": _mean(diagonal),
        "end_below_base": below,
        "passages": len(base),
        "end_minus_base": round(_mean([e - b for b, e in zip(_measured(base), _measured(end))]), 4),
        "drift_by_version": drift,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def forgetting(
    runtime,
    passages: list[PassageDraft],
    config: SessionConfig,
    replay: float,
    log: Callable[[str], None],
    runs: tuple[str, ...] = FORGET_RUNS,
    pool: Workers | None = None,
) -> dict:
    """Sequential updates on the passages, as a session makes them: the recipe plain
    ("plain"), with replay ("replay"), SEAL's preset ("seal"), and per-paper adapters with
    each passage as its own paper ("per-paper"). Per run: the held-out matrix, BWT, each
    passage's end value against its base value, and drift per version. Each run is a job:
    on the pool's Ray workers when given, else one after another on `runtime`."""
    one = [PaperDraft("benchmark", "bench", f"forget-{len(passages)}", tuple(passages))]
    each = [PaperDraft(p.title, "bench", f"forget-{len(passages)}-{i}", (p,)) for i, p in enumerate(passages)]
    settings = {
        "plain": config,
        "replay": replace(config, replay=replay),
        "seal": replace(config, train=replace(config.train, **preset("seal")["train"])),
        "per-paper": replace(config, adapters="per-paper"),
    }
    jobs = [partial(_forget_run, name, each if name == "per-paper" else one, settings[name]) for name in runs]
    out = {}
    for name, result in zip(runs, (pool or Serial(runtime)).run(jobs)):
        out[name] = result
        drift, bwt = result["drift_by_version"], result["bwt"]
        shown = "- (one passage)" if bwt is None else f"{bwt:+.3f}"
        log(
            f"{name}: BWT {shown}, {result['end_below_base']}/{result['passages']} passages end below "
            f"base, end-base {result['end_minus_base']:+.3f}, drift at end {drift[-1] if drift else 0:+.3f}"
        )
    return {"runs": out}


def bench_config(edits: int, epochs: int | None, max_tokens: int, reward_vs: str = "version") -> SessionConfig:
    """The benchmark's session settings: the default recipe, `epochs` at most when given."""
    train = TrainConfig() if epochs is None else TrainConfig(epochs=epochs)
    return SessionConfig(
        accept="heuristic",
        probes="given",
        generation=GenerationConfig(candidates=edits, max_tokens=max_tokens, seed=1234),
        train=train,
        filter=FilterConfig(reward_vs=reward_vs),
    )
