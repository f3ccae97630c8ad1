"""The custom actions driven in-process with rasa-sdk's Tracker and CollectingDispatcher (no server): `make check` runs them."""
