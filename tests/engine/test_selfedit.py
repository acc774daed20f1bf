"""Self-edit strategies, the examples a passage trains on, and the heuristic gate."""

from __future__ import annotations

import json

import pytest

from engine.scores.evaluate import probe_prompt
from engine.selfedits.edit_lines import to_examples
from engine.selfedits.gate import GateVerdict, gate
from engine.selfedits.selfedit import (
    STRATEGIES,
    Strategy,
    StrategyError,
    build_messages,
    load_strategies,
    resolve_strategy,
)

TITLE = "Eiffel Tower"
PASSAGE = (
    "The Eiffel Tower was completed in 1889 as the entrance arch of the World's Fair in Paris. "
    "It is 330 metres tall and was designed by the engineering company of Gustave Eiffel."
)
LAST = f"{TITLE}\n{PASSAGE}"


def prompt_for(name: str = "implications") -> str:
    return "\n".join(m["content"] for m in build_messages(STRATEGIES[name], TITLE, PASSAGE))


# ---- strategies ---------------------------------------------------------------------------------


def test_builtin_strategies_are_the_four_seal_variants_and_qa_spans():
    assert set(STRATEGIES) == {"implications", "implications-long", "rewrites", "qa", "qa-spans"}
    for s in STRATEGIES.values():
        assert s.description and "{passage}" in s.user_template


def test_messages_carry_title_and_passage_for_a_chat_model():
    messages = build_messages(STRATEGIES["implications"], TITLE, PASSAGE)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert PASSAGE in messages[1]["content"] and TITLE in messages[1]["content"]
    assert "{" not in messages[1]["content"]
    assert "---" in build_messages(STRATEGIES["rewrites"], TITLE, PASSAGE)[1]["content"]
    assert "Q:" in build_messages(STRATEGIES["qa"], TITLE, PASSAGE)[1]["content"]
    spans = build_messages(STRATEGIES["qa-spans"], TITLE, PASSAGE)[1]["content"]
    assert "five" in spans and "copied exactly from the passage" in spans and "\nQ:" in spans and "\nA:" in spans


def test_builtin_prompts_are_short_enough_for_a_small_model():
    for s in STRATEGIES.values():
        instructions = s.user_template.replace("{passage}", "").replace("{title}", "")
        assert len(instructions.split()) < 60, s.name


def test_strategy_rejects_template_without_passage_or_with_unknown_placeholder():
    with pytest.raises(StrategyError, match=r"lacks \{passage\}"):
        Strategy("x", "", "", "Write about {title}.")
    with pytest.raises(StrategyError, match=r"unknown placeholder \{foo\}"):
        Strategy("x", "", "", "{passage} {foo}")
    with pytest.raises(StrategyError, match="empty strategy name"):
        Strategy("  ", "", "", "{passage}")


def test_literal_braces_survive_into_the_prompt():
    s = Strategy("json", "", "", 'Answer as {{"facts": [...]}} about:\n{passage}')
    assert build_messages(s, TITLE, PASSAGE)[0]["content"].startswith('Answer as {"facts"')


def test_no_system_message_when_system_is_empty():
    s = Strategy("bare", "", "", "{passage}")
    assert build_messages(s, TITLE, PASSAGE) == [{"role": "user", "content": PASSAGE}]


# ---- user strategy files --------------------------------------------------------------------------


def test_load_json_and_toml_files(tmp_path):
    j = tmp_path / "mine.json"
    j.write_text(json.dumps({"terse": {"description": "one fact a line", "user": "{title}: {passage}\nFacts:"}}))
    t = tmp_path / "mine.toml"
    t.write_text('[story]\ndescription = "as a story"\nsystem = "Be vivid."\nuser = """Tell {passage} as a story."""\n')
    terse = load_strategies(j)["terse"]
    assert terse.description == "one fact a line" and terse.system  # a default system message
    story = load_strategies(t)["story"]
    assert story.system == "Be vivid." and "{passage}" in story.user_template


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("bad.json", '{"a": {"user": "{passage}",}}', r"invalid JSON at line 1 column \d+"),
        ("bad.toml", "[a]\nuser = \n", r"invalid TOML: .*line 2"),
        ("nouser.json", '{"a": {"description": "d"}}', r"strategy 'a': missing 'user'"),
        ("nopassage.json", '{"a": {"user": "Summarize {title}."}}', r"strategy 'a': user template lacks \{passage\}"),
        ("foo.json", '{"a": {"user": "{passage} {foo}"}}', r"strategy 'a': .*unknown placeholder \{foo\}"),
        ("empty.json", '{"": {"user": "{passage}"}}', r"empty strategy name"),
        ("list.json", '["{passage}"]', r"expected a table of strategies"),
        ("typo.json", '{"a": {"usr": "{passage}"}}', r"unknown key\(s\) usr"),
        ("number.json", '{"a": {"user": 3}}', r"'user' must be text"),
    ],
)
def test_strategy_file_errors_name_the_file_and_the_problem(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(StrategyError, match=problem) as info:
        load_strategies(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_missing_or_binary_file_is_named(tmp_path):
    with pytest.raises(StrategyError, match=r"nope\.json: no such file"):
        load_strategies(tmp_path / "nope.json")
    binary = tmp_path / "latin.json"
    binary.write_bytes(b'{"a": {"user": "caf\xe9 {passage}"}}')
    with pytest.raises(StrategyError, match=r"latin\.json: not UTF-8 text"):
        load_strategies(binary)


def test_resolve_builtin_path_and_path_with_name(tmp_path):
    assert resolve_strategy("rewrites") is STRATEGIES["rewrites"]
    one = tmp_path / "one.json"
    one.write_text('{"mine": {"user": "Facts from {passage}"}}')
    assert resolve_strategy(str(one)).name == "mine"
    two = tmp_path / "two.toml"
    two.write_text('[a]\nuser = "{passage}"\n[b]\nuser = "More: {passage}"\n')
    assert resolve_strategy(f"{two}:b").user_template == "More: {passage}"
    with pytest.raises(StrategyError, match=r"holds 2 strategies \(a, b\)"):
        resolve_strategy(str(two))
    with pytest.raises(StrategyError, match=r"no strategy 'c'; it has a, b"):
        resolve_strategy(f"{two}:c")


def test_resolving_a_missing_strategy_file_says_so(tmp_path):
    for spec in (f"{tmp_path}/mine.json", f"{tmp_path}/mine.toml:terse"):
        with pytest.raises(StrategyError, match=r"mine\.(json|toml): no such file"):
            resolve_strategy(spec)


def test_unknown_strategy_lists_the_available_ones():
    with pytest.raises(StrategyError) as info:
        resolve_strategy("implication")
    for name in STRATEGIES:
        assert name in str(info.value)


# ---- examples ---------------------------------------------------------------------------------------


def test_implications_with_chatty_filler_and_numbering():
    edit = (
        "Sure! Here are some implications of the passage:\n\n"
        "1. The Eiffel Tower is older than the Empire State Building.\n"
        "2. Paris hosted a World's Fair in 1889.\n"
        "- 3.5 million tickets were probably sold that year.\n"
        "* Gustave Eiffel's company had engineers who could build tall iron structures.\n"
        "I hope this helps!"
    )
    assert to_examples(edit, TITLE, PASSAGE, "implications") == [
        f"{TITLE}\nThe Eiffel Tower is older than the Empire State Building.",
        f"{TITLE}\nParis hosted a World's Fair in 1889.",
        f"{TITLE}\n3.5 million tickets were probably sold that year.",
        f"{TITLE}\nGustave Eiffel's company had engineers who could build tall iron structures.",
        LAST,
    ]


def test_list_header_and_markdown_are_not_training_text():
    edit = "**Implications:**\n1) **The tower** is made of iron.\nImplication 2: Visitors can see Paris from it."
    assert to_examples(edit, TITLE, PASSAGE, "implications-long") == [
        f"{TITLE}\nThe tower is made of iron.",
        f"{TITLE}\nVisitors can see Paris from it.",
        LAST,
    ]


def test_rewrites_split_on_dashes_and_drop_per_block_headings():
    edit = (
        "Here are three rewrites:\nRewrite 1:\nBuilt for the 1889 World's Fair, the 330 m tower was Eiffel's.\n"
        "---\nRewrite 2:\nParis got a 330-metre iron tower in 1889.\n"
        "----\n\n---\n"
    )
    assert to_examples(edit, TITLE, PASSAGE, "rewrites") == [
        f"{TITLE}\nBuilt for the 1889 World's Fair, the 330 m tower was Eiffel's.",
        f"{TITLE}\nParis got a 330-metre iron tower in 1889.",
        LAST,
    ]


def test_qa_pairs_stay_together_on_one_or_two_lines():
    edit = (
        "Sure, here are some questions and answers:\n"
        "1. Q: When was the Eiffel Tower completed? A: In 1889.\n"
        "Question 2: Who designed it?\n"
        "Answer: The company of Gustave Eiffel.\n"
        "Q: How tall is it?\n"
        "A: A: 330 metres\n"
        "Q: What is it made of?\n"
    )
    assert to_examples(edit, TITLE, PASSAGE, "qa") == [
        f"{TITLE}\nQ: When was the Eiffel Tower completed? A: In 1889.",
        f"{TITLE}\nQ: Who designed it? A: The company of Gustave Eiffel.",
        f"{TITLE}\nQ: How tall is it? A: 330 metres",
        LAST,
    ]


def test_instruction_echo_and_bare_labels_are_not_training_text():
    edit = (
        "Built for the 1889 World's Fair, the tower is 330 metres tall.\n"
        "Rewrite this passage three times, each time with different words and a different order.\n"
        "---\nRewrite 2\nParis got an iron tower in 1889."
    )
    assert to_examples(edit, TITLE, PASSAGE, "rewrites") == [
        f"{TITLE}\nBuilt for the 1889 World's Fair, the tower is 330 metres tall.",
        f"{TITLE}\nParis got an iron tower in 1889.",
        LAST,
    ]


def test_qa_numbering_after_the_label_and_lettered_answers_from_a_small_model():
    edit = "Q: 1. Who designed the tower? B: Gustave Eiffel\nQ: 2. Where is it?\nC: Paris"
    assert to_examples(edit, TITLE, PASSAGE, "qa") == [
        f"{TITLE}\nQ: Who designed the tower? A: Gustave Eiffel",
        f"{TITLE}\nQ: Where is it? A: Paris",
        LAST,
    ]


def test_duplicates_and_copies_of_the_passage_are_dropped_but_the_passage_is_last():
    edit = f"The tower is tall.\nThe tower is tall.\n  the tower is TALL  \n{PASSAGE}"
    assert to_examples(edit, TITLE, PASSAGE, "implications") == [f"{TITLE}\nThe tower is tall.", LAST]


@pytest.mark.parametrize("edit", ["", "   \n\n", "Sure! Here are some implications:", "---\n---"])
def test_empty_self_edit_still_trains_on_the_passage(edit):
    assert to_examples(edit, TITLE, PASSAGE, "implications") == [LAST]


def test_examples_are_deterministic_and_without_title_when_title_is_blank():
    edit = "- One fact.\n- Another fact."
    assert to_examples(edit, "", PASSAGE, "implications") == ["One fact.", "Another fact.", PASSAGE]
    assert to_examples(edit, TITLE, PASSAGE, "x") == to_examples(edit, TITLE, PASSAGE, "x")


# ---- gate ---------------------------------------------------------------------------------------------

GOOD = (
    "Sure! Here are some implications:\n"
    "1. The Eiffel Tower is older than most skyscrapers in Europe.\n"
    "2. Visitors to the 1889 fair walked under the tower to get in.\n"
    "3. Iron engineering was advanced enough in the 1880s to build very tall structures."
)


def verdicts(*candidates: str, name: str = "implications") -> list[GateVerdict]:
    return gate(list(candidates), PASSAGE, prompt_for(name))


def test_good_candidate_passes_with_a_short_positive_reason():
    [v] = verdicts(GOOD)
    assert v.ok and v.reason.startswith("3 lines, ") and "new term" in v.reason


@pytest.mark.parametrize("text", ["", "   ", "Sure! Here are some implications:\n"])
def test_empty_candidates_are_rejected(text):
    [v] = verdicts(text)
    assert not v.ok and v.reason.startswith("empty")


def test_too_short_candidate_says_how_short():
    [v] = verdicts("1. Tall tower.")
    assert not v.ok and v.reason == "too short: 2 words of content"


def test_looping_output_is_rejected_with_what_repeats():
    word_loop, line_loop, phrase_loop = verdicts(
        "the the the the the the",
        "The tower is in Paris.\nThe tower is in Paris.\nIt is tall.\nThe tower is in Paris.",
        " ".join(["Gustave Eiffel built the tower and"] * 6),
    )
    assert not word_loop.ok and word_loop.reason == "repeats itself: 'the the the'"
    assert not line_loop.ok and line_loop.reason == "repeats itself: 'the tower is in paris' appears 3 times"
    assert not phrase_loop.ok and phrase_loop.reason.startswith("repeats itself: '")
    assert "times" in phrase_loop.reason


def test_counting_loop_of_a_small_model_is_caught():
    loop = " ".join(f"The answer to question {i} is: Question {i + 1}." for i in range(1, 9))
    [v] = verdicts(loop, name="qa")
    assert not v.ok and v.reason.startswith("repeats itself: 'the answer to question'")


def test_prompt_echo_is_rejected():
    echo = "What follows from this passage? Write five implications or consequences of it, one per line."
    [v] = verdicts(echo)
    assert not v.ok and "echoes the instructions" in v.reason


def test_off_topic_chatter_is_rejected():
    [v] = verdicts("I am ready to help. What would you like to do next?")
    assert not v.ok and v.reason == "off topic: shares no words with the passage"


def test_copy_of_the_passage_is_rejected_as_adding_nothing():
    verbatim, reordered = verdicts(
        "Here is the passage:\n" + PASSAGE,
        "It is 330 metres tall.\nThe Eiffel Tower was completed in 1889.",
    )
    assert not verbatim.ok and verbatim.reason.startswith("copies the passage (")
    assert not reordered.ok and "adds nothing new" in reordered.reason


def test_a_real_rewrite_is_not_a_copy():
    rewrite = (
        "Gustave Eiffel's engineering firm designed a 330-metre iron tower.\n---\n"
        "Paris opened the tower in 1889, when it served as the gateway to that year's World's Fair."
    )
    [v] = verdicts(rewrite, name="rewrites")
    assert v.ok, v.reason


def test_near_duplicate_names_the_earlier_candidate_counting_from_one():
    other = "- Tourists can climb the tower for views over Paris.\n- The tower was a gateway for visitors."
    tweaked = GOOD.replace("very tall", "really tall")
    results = verdicts(other, GOOD, tweaked)
    assert [v.ok for v in results] == [True, True, False]
    assert results[2].reason.startswith("near-duplicate of candidate 2")


def test_one_verdict_per_candidate_in_order():
    results = verdicts(GOOD, "", "1. Tall tower.")
    assert [v.ok for v in results] == [True, False, False]
    assert all(v.reason for v in results)


def test_qa_candidate_passes_and_unanswered_questions_count_as_empty():
    qa = "Q: When was the tower completed? A: 1889\nQ: Who designed it? A: Gustave Eiffel's company"
    unanswered = "Q: In this passage, how does the author describe the tower?\nQ: Why?"
    good, empty = gate([qa, unanswered], PASSAGE, prompt_for("qa"), strategy_name="qa")
    assert good.ok and good.reason.startswith("2 lines")
    assert not empty.ok and empty.reason.startswith("empty")
    assert to_examples(unanswered, TITLE, PASSAGE, "qa") == [LAST]


# ---- qa-spans ------------------------------------------------------------------------------------------


def test_qa_spans_train_the_probe_question_with_the_passage_span_as_completion():
    edit = (
        "Sure! Here are five questions:\n"
        "Q: When was the Eiffel Tower completed?\n"
        "A: In 1889.\n"
        "2. Q: How tall is the tower? A: 330 metres\n"
        "Q: Who designed the tower?\n"
        'A: "the engineering company of Gustave Eiffel"\n'
    )
    assert to_examples(edit, TITLE, PASSAGE, "qa-spans") == [
        (probe_prompt(TITLE, "When was the Eiffel Tower completed?"), " in 1889"),
        ("Topic: Eiffel Tower\nQuestion: How tall is the tower?\nAnswer:", " 330 metres"),
        (probe_prompt(TITLE, "Who designed the tower?"), " the engineering company of Gustave Eiffel"),
        LAST,
    ]


def test_qa_spans_drop_answers_not_in_the_passage_and_repeated_questions():
    edit = (
        "Q: Where is the tower? A: Paris\n"  # in the passage
        "Q: What is it made of? A: wrought iron\n"  # invented
        "Q: How tall is it? A: 300 metres\n"  # close, but not what the passage says
        "Q: Who built it? A: Eiff\n"  # part of a word is no span
        "Q: What was completed? A: It\n"  # stop words only
        "Q: Where is the tower? A: the World's Fair in Paris\n"  # the same question again
        "The tower is very tall.\n"  # no Q/A pair: not trained
    )
    assert to_examples(edit, TITLE, PASSAGE, "qa-spans") == [
        (probe_prompt(TITLE, "Where is the tower?"), " Paris"),
        LAST,
    ]


def test_qa_spans_take_the_passages_casing_and_spacing():
    passage = "The Brass Eye was installed in 1888 by the\n  Velmora Harbour Trust."
    edit = "Q: Who installed the Brass Eye?\nA: velmora   harbour TRUST"
    assert to_examples(edit, "Velmora", passage, "qa-spans") == [
        (probe_prompt("Velmora", "Who installed the Brass Eye?"), " Velmora Harbour Trust"),
        f"Velmora\n{passage}",
    ]


def test_qa_spans_with_no_grounded_answer_train_only_the_passage():
    assert to_examples("Q: What colour is it? A: Bright red", TITLE, PASSAGE, "qa-spans") == [LAST]
    assert to_examples("", TITLE, PASSAGE, "qa-spans") == [LAST]


QA_SPANS = (
    "Q: When was the Eiffel Tower completed? A: 1889\n"
    "Q: How tall is the Eiffel Tower? A: 330 metres\n"
    "Q: Where was the World's Fair held? A: Paris\n"
    "Q: What was the tower built as? A: a grand iron gateway"
)


def test_gate_accepts_grounded_qa_spans_and_counts_the_answers_in_the_passage():
    [v] = gate([QA_SPANS], PASSAGE, prompt_for("qa-spans"), strategy_name="qa-spans")
    assert v.ok and v.reason == "4 Q/A pairs, 3 answers in the passage"


def test_gate_rejects_qa_spans_whose_answers_are_all_invented():
    invented = (
        "Q: When was the Eiffel Tower completed? A: In 1901\n"
        "Q: How tall is the Eiffel Tower? A: 500 metres\n"
        "Q: Who designed the Eiffel Tower? A: Napoleon Bonaparte"
    )
    unanswered = "Q: When was the Eiffel Tower completed?\nQ: How tall is it?"
    bad, empty = gate([invented, unanswered], PASSAGE, prompt_for("qa-spans"), strategy_name="qa-spans")
    assert not bad.ok and bad.reason == "no answer found in the passage (3 Q/A pairs, 0 answers in the passage)"
    assert not empty.ok and empty.reason == "empty: no question with an answer"


def test_gate_does_not_take_questions_cut_from_the_passage_for_a_copy_of_it():
    cut = (
        "Q: The Eiffel Tower was completed in 1889 as the entrance arch of what? A: the World's Fair in Paris\n"
        "Q: It is 330 metres tall and was designed by whom? A: the engineering company of Gustave Eiffel"
    )
    [as_qa] = gate([cut], PASSAGE, prompt_for("qa"), strategy_name="qa")
    assert not as_qa.ok and as_qa.reason.startswith("copies the passage")
    [v] = gate([cut], PASSAGE, prompt_for("qa-spans"), strategy_name="qa-spans")
    assert v.ok and v.reason == "2 Q/A pairs, 2 answers in the passage"


def test_gate_still_catches_loops_and_near_duplicates_for_qa_spans():
    loop = "\n".join(["Q: Where is the tower? A: Paris"] * 3)
    results = gate(
        [QA_SPANS, loop, QA_SPANS.replace("How tall", "How high")],
        PASSAGE,
        prompt_for("qa-spans"),
        strategy_name="qa-spans",
    )
    assert [v.ok for v in results] == [True, False, False]
    assert results[1].reason.startswith("repeats itself:")
    assert results[2].reason.startswith("near-duplicate of candidate 1")


def test_lines_about_the_passage_are_not_training_data():
    edit = (
        "1. The passage offers a detailed description of the island's history.\n"
        "2. This text highlights the importance of careful planning.\n"
        "3. The Brass Eye was installed in 1888.\n"
    )
    examples = to_examples(edit, "Velmora", "The Brass Eye was installed in 1888.", "implications")
    assert examples == ["Velmora\nThe Brass Eye was installed in 1888."]  # the passage itself only


def test_a_candidate_that_only_talks_about_the_passage_is_rejected():
    meta = "The passage offers a detailed description of history.\nThe original sentence is a non-sequitur."
    verdict = gate([meta], "Quenby has long winter nights and dry air.", "List implications.")[0]
    assert not verdict.ok and verdict.reason == "talks about the passage instead of stating its facts"
