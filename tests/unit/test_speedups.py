"""rasa_ext/speedups.py: Rasa's answers, without the repeated work."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.feature_array import FeatureArray
from rasa.utils.tensorflow.model_data import RasaModelData

import rasa_ext  # noqa: F401  (installs the speed-ups, as the Rasa server's loading does)
from rasa_ext import speedups

VALID = {
    "events": [{"event": "slot", "name": "requested_slot", "value": "cd_agreement"}],
    "responses": [{"text": "Bonjour", "buttons": [{"title": "Oui", "payload": "/affirm"}]}],
}
INVALID = [
    {"events": [{"event": "slot", "name": 3}]},
    {"events": "not a list"},
    {"responses": [42]},
    [],
]


def rasa_error(result: object) -> str:
    with pytest.raises(ValidationError) as caught:
        speedups._ORIGINAL["validate_action_result"](RemoteAction("x", None), result)
    return caught.value.message


def test_installed_when_the_extensions_are_loaded() -> None:
    assert RemoteAction._validate_action_result is speedups.validate_action_result
    assert Event.resolve_by_type is speedups.resolve_event_type


def test_a_valid_action_answer_passes() -> None:
    assert RemoteAction("x", None)._validate_action_result(VALID) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_answer_fails_with_rasas_error(result: object) -> None:
    with pytest.raises(ValidationError) as caught:
        RemoteAction("x", None)._validate_action_result(result)  # type: ignore[arg-type]
    assert caught.value.message == rasa_error(result)
    assert "Failed to validate Action server response" in caught.value.message


def test_every_event_name_resolves_to_rasas_class() -> None:
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "action", "slot", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is speedups._ORIGINAL["resolve_by_type"](name)


def test_unknown_names_keep_rasas_fallbacks() -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_a_class_defined_later_is_found() -> None:
    class LateEvent(ActionExecuted):
        type_name = "late_event_for_test"

    assert Event.resolve_by_type("late_event_for_test") is LateEvent


def test_events_round_trip() -> None:
    events = [UserUttered("Bonjour", {"name": "greet"}), ActionExecuted("action_listen")]
    assert [Event.from_parameters(e.as_dict()) for e in events] == events


def test_models_other_than_diets_are_loaded_by_rasas_own_path(monkeypatch) -> None:  # noqa: ANN001
    """TED (the default configuration's policies) was not checked output for output: Rasa's own
    loading, as for a model loaded to be fine-tuned."""
    from rasa.core.policies.ted_policy import TED
    from rasa.nlu.selectors.response_selector import DIET2DIET
    from rasa.utils.tensorflow.models import RasaModel

    calls = []
    monkeypatch.setitem(
        speedups._ORIGINAL, "load_model", lambda cls, *args, **kwargs: calls.append(cls) or cls
    )
    example = object()
    assert TED.load("weights", {}, example) is TED
    assert DIET2DIET.load("weights", {}, example, True) is DIET2DIET  # fine-tuning
    assert calls == [TED, DIET2DIET]
    assert RasaModel.load.__func__ is speedups.load_model_for_prediction


def object_array(items: list) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def training_data(examples: int, seed: int = 7) -> RasaModelData:
    """DIET's kind of data: per example a sparse and a dense token sequence (0 to 9 tokens), a
    sparse sentence, and its intent; sentences in COO (as the featurizers give them), sequences in
    CSR (the other path of Rasa's conversion)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 10, size=examples)
    sparse_sequences = [
        scipy.sparse.random(n, 50, density=0.2, format="csr", random_state=i)
        for i, n in enumerate(lengths)
    ]
    dense_sequences = [rng.standard_normal((n, 8)).astype(np.float32) for n in lengths]
    sentences = [
        scipy.sparse.random(1, 50, density=0.3, format="coo", random_state=i)
        for i in range(examples)
    ]
    intents = rng.integers(0, 5, size=(examples, 1))
    return RasaModelData(
        label_key="label",
        label_sub_key="ids",
        data={
            "text": {
                "sequence": [
                    FeatureArray(object_array(sparse_sequences), number_of_dimensions=3),
                    FeatureArray(object_array(dense_sequences), number_of_dimensions=3),
                ],
                "sentence": [FeatureArray(object_array(sentences), number_of_dimensions=3)],
            },
            "label": {"ids": [FeatureArray(intents, number_of_dimensions=2)]},
        },
    )


def epochs_of_batches(installed: bool, epochs: int = 3) -> list[tuple]:
    """Every batch Rasa's generator gives DIET over a few epochs (balanced, shuffled,
    increasing batch size), with or without the speed-ups."""
    if not installed:
        speedups.uninstall()
    try:
        np.random.seed(2021)  # Rasa shuffles and balances with NumPy's global generator
        generator = RasaBatchDataGenerator(
            training_data(120), batch_size=[8, 32], epochs=epochs, batch_strategy="balanced"
        )
        batches = []
        for _ in range(epochs):
            batches += [generator[i][0] for i in range(len(generator))]
            generator.on_epoch_end()
        return batches
    finally:
        speedups.install()


def test_training_batches_are_rasas_value_for_value() -> None:
    ours, rasas = epochs_of_batches(installed=True), epochs_of_batches(installed=False)
    assert len(ours) == len(rasas) > 10
    for our_batch, rasa_batch in zip(ours, rasas, strict=True):
        assert len(our_batch) == len(rasa_batch)
        for our_array, rasa_array in zip(our_batch, rasa_batch, strict=True):
            assert our_array.dtype == rasa_array.dtype
            assert our_array.shape == rasa_array.shape
            assert np.array_equal(our_array, rasa_array)


def test_a_batch_of_empty_sequences_is_rasas() -> None:
    empty = FeatureArray(
        object_array([scipy.sparse.coo_matrix((0, 50))] * 3), number_of_dimensions=3
    )
    ours, rasas = speedups.sparse_batch(empty), speedups._ORIGINAL["sparse_batch"](empty)
    assert all(
        np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(ours, rasas, strict=True)
    )
    dense = FeatureArray(object_array([np.zeros((0, 8), np.float32)] * 2), number_of_dimensions=3)
    assert np.array_equal(speedups.dense_batch(dense), speedups._ORIGINAL["dense_batch"](dense))
