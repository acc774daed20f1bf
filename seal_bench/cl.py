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
from engine.domain import PaperDraft, PassageDraft, SelfEdit
from engine.drift import drift_items
from engine.evaluate import probe_text, summarize
from engine.probes import FAMILIES, family, recall_roles, split_probes
from engine.reward_filter import Trial, verdicts
from engine.runtime.protocol import TrainingGuards
from engine.runtime.ray_pool import Serial, Workers
from engine.selfedit import build_messages, gate, grounded, repeat_passage, resolve_strategy, to_examples

CONDITIONS = ("base", "passage", "edits", "filtered", "teacher")
FORGET_RUNS = ("plain", "replay", "seal", "per-paper")


def passages_of(drafts: list[PaperDraft], limit: int, first: int = 0) -> list[PassageDraft]:
    """`limit` passages that come with questions, from the `first` one on."""
    return [p for d in drafts for p in d.passages if p.questions][first : first + limit]


def _unique(examples: list) -> list:
    return list(dict.fromkeys(examples))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _measured(values: list[float | None]) -> list[float]:
    """Matrix cells a run has measured, narrowed to floats (they are all filled in)."""
    out = [v for v in values if v is not None]
    assert len(out) == len(values), "a matrix cell the run should have measured is empty"
    return out


def _split(p: PassageDraft) -> tuple[list, dict[str, list]]:
    """(reward items, held-out items per probe family) of a passage, as a session makes and
    splits its probes: its questions, and recall probes beside them."""
    roles = split_probes(p.title, p.text, list(p.questions), "given") + recall_roles(p.title, p.text)
    items = lambda role, fam: [  # noqa: E731
        (probe_text(p.title, k, q), a) for k, q, a, r in roles if r == role and (fam is None or family(k) == fam)
    ]
    return items("reward", None), {fam: items("heldout", fam) for fam in FAMILIES}


def _candidates(runtime, p: PassageDraft, config: SessionConfig) -> list[str]:
    """The model's self-edits that pass the heuristic gate."""
    strategy = resolve_strategy(config.strategy)
    messages = build_messages(strategy, p.title, p.text)
    written = [
        "".join(
            runtime.stream_chat(messages, replace(config.generation, seed=(config.generation.seed or 0) + k))
        ).strip()
        for k in range(config.generation.candidates)
    ]
    prompt_text = "\n".join(m["content"] for m in messages)
    return [c for c, v in zip(written, gate(written, p.text, prompt_text, strategy.name)) if v.ok]


def _filtered(runtime, p: PassageDraft, kept: list[str], config: SessionConfig, reward: list, guards) -> list[str]:
    """The candidates the reward filter keeps, judged on the reward probes only."""
    strategy = resolve_strategy(config.strategy)
    trial_train = replace(config.train, epochs=config.filter.trial_epochs, patience=0, drift_guard=0.0)
    alone = [f"{p.title}\n{p.text}"] if config.filter.reward_vs == "passage" else []
    reference = (
        runtime.trial(None, alone, trial_train, reward, guards=guards).nll
        if alone
        else runtime.answer_nll(None, True, reward)
    )
    trials = []
    for i, c in enumerate(kept):
        result = runtime.trial(
            None, to_examples(c, p.title, p.text, strategy.name) + alone, trial_train, reward, guards=guards
        )
        # a pending self-edit of a passage not stored yet (no passage id): verdicts reads its id and text
        edit = SelfEdit(id=i, passage_id=0, strategy=strategy.name, text=c, status="pending")
        trials.append(Trial(edit, _mean(reference) - _mean(result.nll), 0.0))
    f = config.filter
    chosen = verdicts(trials, f.min_gain, f.budget, f.top_k)
    return [t.edit.text for t in trials if chosen[t.edit.id].kept]


def _drift_base(runtime, _start) -> float:
    """The base model's mean NLL on the drift set's report questions."""
    return _mean(runtime.answer_nll(None, True, drift_items("report")))


def _passage_scores(p: PassageDraft, config: SessionConfig, teacher, conditions: tuple[str, ...], runtime, _start):
    """One passage's conditions, from the base model: per probe family (held-out count, base
    NLL per held-out probe, per condition the NLL per held-out probe), and per condition the
    NLL per drift report question."""
    strategy = resolve_strategy(config.strategy)
    drift = drift_items("report")
    reward, heldout = _split(p)
    guards = TrainingGuards(tuple(reward), tuple(drift_items("guard")))
    passage_example = f"{p.title}\n{p.text}"

    def lines(texts: list[str], name: str) -> list:
        """The self-edits' training lines a session would train (the model's grounded,
        imported ones whole: Session.lines_to_train), then the passage."""
        made = [x for t in texts for x in to_examples(t, p.title, p.text, name)[:-1]]
        kept = made if name == "imported" else grounded(made, p.title, p.text, config.train.grounding)
        return _unique(kept + [passage_example])

    examples = {"passage": [passage_example]}
    if "edits" in conditions or "filtered" in conditions:
        kept = _candidates(runtime, p, config)
        examples["edits"] = lines(kept, strategy.name)
        if "filtered" in conditions:
            examples["filtered"] = lines(_filtered(runtime, p, kept, config, reward, guards), strategy.name)
    if "teacher" in conditions:
        examples["teacher"] = lines(teacher.for_passage(p.title, p.text)[:1], "imported")
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
    all held-out questions of the passages (teacher: an engine.imported_edits.ImportedEdits).
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
    from engine.home import Home
    from engine.runtime.factory import build_runtime
    from engine.runtime.protocol import LoraShape

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
