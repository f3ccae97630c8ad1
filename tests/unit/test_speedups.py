"""rasa_ext/speedups.py: Rasa's answers, without the repeated work."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

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
