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

And one change to the training (issue 16's training time; docs/training-time.md):
- Every batch of every epoch, Rasa's batch generator turns each example's sparse features into
  (example, row, column) triples and pads each example's dense features, with NumPy calls per
  example (`np.vstack` of three arrays, a slice assignment), in the thread that feeds
  TensorFlow. The batch is now built from a few concatenations over the whole batch: the same
  arrays, value for value and type for type (tests/unit/test_speedups.py compares the batches of
  whole epochs), so the same model, file for file; DIET's batches for a training cost a third of
  the CPU time (`bench/training_batches.py`: 58 s → 20 s).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import scipy.sparse
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
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator, RasaDataGenerator
from rasa.utils.tensorflow.feature_array import FeatureArray
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

_ORIGINAL = {
    "validate_action_result": RemoteAction._validate_action_result,
    "resolve_by_type": Event.resolve_by_type,
    "load_model": RasaModel.load.__func__,  # type: ignore[attr-defined]
    "sparse_batch": RasaDataGenerator._scipy_matrix_to_values,
    "dense_batch": RasaDataGenerator._pad_dense_data,
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


def sparse_batch(examples: FeatureArray) -> list[np.ndarray]:
    """`RasaDataGenerator._scipy_matrix_to_values` for a batch of 2-D sparse matrices (a
    sequence or a sentence per example): every value's (example, row, column), the values, and
    the batch's padded shape, as Rasa builds them, in one concatenation per array."""
    if examples.number_of_dimensions == 4:  # dialogue features (TED): Rasa's own path
        return _ORIGINAL["sparse_batch"](examples)  # type: ignore[no-any-return]
    matrices = [m if isinstance(m, scipy.sparse.coo_matrix) else m.tocoo() for m in examples]
    values_per_example = [m.row.shape[0] for m in matrices]
    indices = np.empty((sum(values_per_example), 3), dtype=np.int64)
    indices[:, 0] = np.repeat(np.arange(len(matrices)), values_per_example)
    indices[:, 1] = np.concatenate([m.row for m in matrices])
    indices[:, 2] = np.concatenate([m.col for m in matrices])
    values = np.concatenate([m.data for m in matrices]).astype(np.float32)
    longest = max(m.shape[0] for m in matrices)
    shape = np.array((len(matrices), longest, matrices[0].shape[-1]), dtype=np.int64)
    return [indices, values, shape]


def dense_batch(examples: FeatureArray) -> np.ndarray:
    """`RasaDataGenerator._pad_dense_data` for a batch of sequences of equal width: each
    example's rows copied at once into the zero-padded (example, position, feature) array."""
    widths = {x.shape[1:] for x in examples} if examples[0].ndim == 2 else None
    if examples.number_of_dimensions == 4 or widths is None or len(widths) != 1:
        return _ORIGINAL["dense_batch"](examples)  # type: ignore[no-any-return]
    lengths = np.array([x.shape[0] for x in examples])
    padded = np.zeros((len(examples), lengths.max(), *widths.pop()), dtype=examples[0].dtype)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.arange(lengths.sum()) - starts
    padded[np.repeat(np.arange(len(examples)), lengths), positions] = np.concatenate(list(examples))
    return padded.astype(np.float32)


def install() -> None:
    """Puts the changes in place (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign]
    RasaModel.load = classmethod(load_model_for_prediction)  # type: ignore[method-assign,assignment]
    RasaDataGenerator._scipy_matrix_to_values = staticmethod(sparse_batch)  # type: ignore[method-assign]
    RasaDataGenerator._pad_dense_data = staticmethod(dense_batch)  # type: ignore[method-assign]


def uninstall() -> None:
    """Rasa's own code paths again (tests compare both)."""
    RemoteAction._validate_action_result = _ORIGINAL["validate_action_result"]  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_ORIGINAL["resolve_by_type"])  # type: ignore[method-assign]
    RasaModel.load = classmethod(_ORIGINAL["load_model"])  # type: ignore[method-assign,assignment]
    RasaDataGenerator._scipy_matrix_to_values = staticmethod(_ORIGINAL["sparse_batch"])  # type: ignore[method-assign]
    RasaDataGenerator._pad_dense_data = staticmethod(_ORIGINAL["dense_batch"])  # type: ignore[method-assign]
