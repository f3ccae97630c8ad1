"""Extensions loaded by the Rasa server (not by the action server): input channel, stores, NLU
components, and the speed-ups of Rasa's own code paths (rasa_ext/speedups.py), installed here so
that whichever extension Rasa loads first, every Rasa process has them."""

from rasa_ext import speedups

speedups.install()
