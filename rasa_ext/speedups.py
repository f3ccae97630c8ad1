"""Where Rasa 3.6 spends a turn's time on work the turn does not need: the one home of the
project's changes to Rasa's own code paths (installed by `rasa_ext/__init__.py`, so that every
process that loads any of the project's extensions — server, shell, `rasa test` — has them).

Each change keeps Rasa's behaviour and only removes repeated work; the profile that motivated it
is in docs/benchmarks.md (issue 16).

- The action server's answer is validated against a schema (Rasa's `RemoteAction`): Rasa calls
  `jsonschema.validate`, which checks the schema itself against the JSON Schema meta-schema on
  every call before checking the answer — ≈ 24 ms of CPU per action call here, against ≈ 0.5 ms
  for a validator built once. Same schema, same error (the best match, with Rasa's hint).
- Every stored event is turned back into an object when a conversation is read (each turn) and
  every event an action returns: Rasa finds its class by walking all the subclasses of `Event`,
  with an abstract-class check for each, every time (≈ 6 % of a turn). The lookup is now a
  table built once (rebuilt when a name is not in it, in case a class was defined since); the
  classes found and the errors are Rasa's.
- Loading DIET and the ResponseSelector (not TED: not checked), Rasa runs one training step on one example to create
  the model's variables (the whole training graph traced, the optimizer's state allocated), then
  loads the trained weights over them. Here the variables are created by one prediction run
  eagerly, the weights loaded, and the prediction function traced as Rasa does: no training
  graph at each start (a third of the model loading time, and its memory). Same weights, same
  predictions (tests/unit/test_speedups.py compares every output on the held-out set).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import tensorflow as tf
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

_ORIGINAL = {
    "validate_action_result": RemoteAction._validate_action_result,
    "resolve_by_type": Event.resolve_by_type,
    "load_model": RasaModel.load.__func__,  # type: ignore[attr-defined]
}


@cache
def action_response_validator() -> Validator:
    """The validator of an action server's answer, its schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the compiled validator (same errors)."""
    error: ValidationError | None = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from "
        "the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


@cache
def event_classes() -> dict[str, type[Event]]:
    """Event type name → class, in Rasa's order (the first subclass with that name wins)."""
    table: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """`Event.resolve_by_type` from the table; names not in it take Rasa's own path."""
    cls = event_classes().get(type_name)
    if cls is None:
        event_classes.cache_clear()  # a class defined since the table was built
        cls = event_classes().get(type_name)
    if cls is not None:
        return cls
    return _ORIGINAL["resolve_by_type"](type_name, default)  # its fallbacks and its error


def load_model_for_prediction(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """`RasaModel.load` without the training step, for DIET's models (intents, and the
    ResponseSelector's DIET2DIET) loaded to predict: the models this was checked on, output for
    output. Rasa's own path for the others (TED), for a model loaded to be trained further, or
    without an example to predict on."""
    if finetune_mode or not predict_data_example or not issubclass(cls, DIET):
        return _ORIGINAL["load_model"](  # type: ignore[no-any-return]
            cls,
            model_file_name,
            model_data_example,
            predict_data_example,
            finetune_mode,
            *args,
            **kwargs,
        )
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get(RUN_EAGERLY),
    )
    batch = next(iter(RasaBatchDataGenerator(predict_data_example, batch_size=1)))[0]
    model.prepare_for_predict()  # eager: creates the label side's variables
    model.batch_predict(batch)  # eager: creates the message side's variables
    model.load_weights(model_file_name).expect_partial()  # the optimizer's state is not needed
    # What the first prediction computes and traces must see the trained weights, not the
    # initial ones: start from an unprepared model, then warm up as Rasa does.
    model.prepared_for_prediction = False
    model._tf_predict_step = None
    model.run_inference(predict_data_example)
    return model


def install() -> None:
    """Puts the changes in place (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign]
    RasaModel.load = classmethod(load_model_for_prediction)  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Rasa's own code paths again (tests compare both)."""
    RemoteAction._validate_action_result = _ORIGINAL["validate_action_result"]  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_ORIGINAL["resolve_by_type"])  # type: ignore[method-assign]
    RasaModel.load = classmethod(_ORIGINAL["load_model"])  # type: ignore[method-assign,assignment]
