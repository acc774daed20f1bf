"""Probe questions that stay fixed for a session: cloze, given and model-written pairs."""

from __future__ import annotations

import pytest

from engine.papers.probes import cloze_probes, parse_qa_pairs, probes_for, qa_probe_messages, sentences

TITLE = "Eiffel Tower"
PASSAGE = (
    "The Eiffel Tower was completed on 31 March 1889 for the World's Fair in Paris. "
    "It is 330 metres tall and was designed by the company of Gustave Eiffel. "
    "About 6.9 million people visited it in 2015, roughly 75% of them from abroad. "
    "Dr. Smith said the tower is the most visited paid monument."
)


def scoring_prompt(question: str) -> str:
    return f"Topic: {TITLE}\nQuestion: {question}\nAnswer:"


# ---- cloze -----------------------------------------------------------------------------------------


def test_cloze_blanks_numbers_and_dates_first_one_per_sentence_in_passage_order():
    assert cloze_probes(TITLE, PASSAGE) == [
        ("Fill in the blank: The Eiffel Tower was completed on ____ for the World's Fair in Paris.", "31 March 1889"),
        ("Fill in the blank: It is ____ metres tall and was designed by the company of Gustave Eiffel.", "330"),
        ("Fill in the blank: About ____ people visited it in 2015, roughly 75% of them from abroad.", "6.9 million"),
        ("Fill in the blank: Dr. ____ said the tower is the most visited paid monument.", "Smith"),
    ]


def test_cloze_question_hides_its_answer_and_works_closed_book():
    for question, answer in cloze_probes(TITLE, PASSAGE, limit=10):
        assert question.count("____") == 1
        assert answer not in question
        assert scoring_prompt(question).startswith("Topic: Eiffel Tower\nQuestion: Fill in the blank: ")


def test_cloze_prefers_different_sentences_before_a_second_blank_in_one():
    probes = cloze_probes(TITLE, PASSAGE, limit=6)
    answers = [a for _, a in probes]
    assert {"31 March 1889", "330", "6.9 million", "Smith"} <= set(answers)
    assert len(set(answers)) == 6


def test_cloze_limit_and_determinism():
    assert len(cloze_probes(TITLE, PASSAGE, limit=2)) == 2
    assert cloze_probes(TITLE, PASSAGE, limit=2) == cloze_probes(TITLE, PASSAGE, limit=2)
    assert cloze_probes(TITLE, PASSAGE, limit=0) == []


def test_cloze_prefers_multi_word_names_over_single_capitalized_words():
    text = "The reactor was built by Enrico Fermi near Chicago. Physicists in Italy admired it."
    assert cloze_probes("Chicago Pile-1", text) == [
        ("Fill in the blank: The reactor was built by ____ near Chicago.", "Enrico Fermi"),
        ("Fill in the blank: Physicists in ____ admired it.", "Italy"),
    ]


def test_cloze_skips_spans_in_the_title_and_sentence_initial_words():
    text = "Marie Curie won the prize with Pierre Curie. She later moved to Warsaw."
    answers = [a for _, a in cloze_probes("Marie Curie", text)]
    assert "Marie Curie" not in answers and "She" not in answers
    assert answers == ["Pierre Curie", "Warsaw"]


def test_cloze_skips_a_span_the_sentence_repeats():
    text = "In 1969 the crew landed, and in 1969 they came home. Neil Armstrong walked first."
    assert [a for _, a in cloze_probes("Apollo", text)] == ["Neil Armstrong"]


def test_cloze_percentages_years_and_money():
    text = "Sales grew 12% in 2021. The firm paid $2.4 billion for the plant."
    assert [a for _, a in cloze_probes("Acme", text, limit=2)] == ["12%", "$2.4 billion"]
    assert [a for _, a in cloze_probes("Acme", text)] == ["12%", "2021", "$2.4 billion"]


def test_cloze_falls_back_to_the_longest_word_of_the_first_sentence():
    assert cloze_probes("notes", "it was a very remarkable day. nothing else happened.") == [
        ("Fill in the blank: it was a very ____ day.", "remarkable")
    ]


def test_cloze_needs_only_one_capitalized_word_or_number():
    assert [a for _, a in cloze_probes("x", "the answer is 42.")] == ["42"]
    assert [a for _, a in cloze_probes("x", "we went to Rome by train.")] == ["Rome"]
    assert cloze_probes("x", "") == []


def test_cloze_long_sentence_is_cut_around_the_blank():
    filler = " ".join(["word"] * 60)
    [(question, answer)] = cloze_probes("x", f"{filler} in 1905 {filler}.")
    assert answer == "1905"
    assert len(question.split()) < 50 and "____" in question and question.count("…") == 2


def test_sentences_do_not_break_after_abbreviations_or_initials():
    assert sentences("Dr. Smith met J. R. Tolkien in the U.S. on Monday. They talked.") == [
        "Dr. Smith met J. R. Tolkien in the U.S. on Monday.",
        "They talked.",
    ]


# ---- model-written pairs --------------------------------------------------------------------------


def test_parse_qa_pairs_from_messy_model_output():
    reply = (
        "Sure! Here are 3 questions about the passage:\n\n"
        "1. Q: When was the Eiffel Tower completed? A: 31 March 1889\n"
        "2. Question: Who designed it?\n"
        "Answer: The company of Gustave Eiffel\n"
        "**Q:** How tall is it? **A:** 330 metres\n"
        "Q: What city is it in? A:\n"
        "Q: The Eiffel Tower is a wrought-iron lattice tower. A: 3\n"
        "Q: Why is it famous? A: " + "because " * 31 + "\n"
        "Q: When was the Eiffel Tower completed? A: 1889\n"
        "I hope these help!"
    )
    assert parse_qa_pairs(reply) == [
        ("When was the Eiffel Tower completed?", "31 March 1889"),
        ("Who designed it?", "The company of Gustave Eiffel"),
        ("How tall is it?", "330 metres"),
    ]


def test_parse_qa_pairs_strips_numbering_after_the_label_and_reads_lettered_answers():
    reply = "Q: 1. What was the tower's origin? A: 1887 to 1889\nQ: 2. Who built it? B: Gustave Eiffel"
    assert parse_qa_pairs(reply) == [
        ("What was the tower's origin?", "1887 to 1889"),
        ("Who built it?", "Gustave Eiffel"),
    ]


def test_parse_qa_pairs_limit_and_nothing_to_parse():
    reply = "\n".join(f"Q: Question {i}? A: answer {i}" for i in range(9))
    assert len(parse_qa_pairs(reply, limit=5)) == 5
    assert parse_qa_pairs("The tower is tall. Questions remain.") == []


def test_qa_probe_messages_ask_for_n_pairs_in_the_parsed_form():
    messages = qa_probe_messages(TITLE, PASSAGE, n=4)
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert PASSAGE in user and TITLE in user and "Write 4 quiz questions" in user and "Q:" in user and "A:" in user


# ---- probes_for ---------------------------------------------------------------------------------


def test_given_pairs_are_used_as_they_came():
    given = [("When was it completed?", "1889"), ("  ", "blank question is skipped")]
    assert probes_for(TITLE, PASSAGE, given, "given") == [("given", "When was it completed?", "1889")]


def test_given_without_pairs_falls_back_to_cloze():
    probes = probes_for(TITLE, PASSAGE, (), "given")
    assert probes and all(kind == "cloze" for kind, _, _ in probes)
    assert [(q, a) for _, q, a in probes] == cloze_probes(TITLE, PASSAGE)


@pytest.mark.parametrize("kind", ["cloze", "qa"])
def test_cloze_and_qa_kinds_give_cloze_probes_here(kind):
    probes = probes_for(TITLE, PASSAGE, [("ignored?", "yes")], kind)
    assert [(q, a) for _, q, a in probes] == cloze_probes(TITLE, PASSAGE)
    assert {k for k, _, _ in probes} == {"cloze"}


def test_unknown_probe_kind_is_an_error():
    with pytest.raises(ValueError, match="given, cloze, qa"):
        probes_for(TITLE, PASSAGE, [], "quiz")


def test_recall_probes_are_sentences_up_to_a_salient_span_in_passage_order():
    from engine.papers.probes import RECALL_MIN_PREFIX_WORDS, recall_probes

    title = "The Orrin Canal"
    text = (
        "The Orrin Canal links Tessaly to Harrowmere. Work on it began in 1761 under the engineer Bastien Quell. "
        "Barges were pulled by mules. It closed in 1938."
    )
    made = recall_probes(title, text, 4)
    assert ("Work on it began in", "1761") in made
    assert ("Work on it began in 1761 under the engineer", "Bastien Quell") in made
    assert ("It closed in", "1938") in made
    for prefix, answer in made:
        assert f"{prefix} {answer}" in text  # the passage's own words, continued by the answer
        assert len(prefix.split()) >= RECALL_MIN_PREFIX_WORDS
        assert answer.lower() not in title.lower()
    assert [text.index(f"{p} {a}") for p, a in made] == sorted(text.index(f"{p} {a}") for p, a in made)


def test_recall_roles_alternate_the_first_held_out_and_belong_to_the_recall_family():
    from engine.papers.probes import FAMILIES, family, recall_roles

    roles = recall_roles("Canal", "It opened in 1761. It was dug by Bastien Quell. It closed in 1938. Mules pulled it.")
    assert [r[3] for r in roles] == ["heldout", "reward", "heldout", "reward"][: len(roles)] and len(roles) >= 3
    assert {family(r[0]) for r in roles} == {"recall"} and family("given") == family("cloze") == "question"
    assert list(FAMILIES) == ["question", "recall"]
