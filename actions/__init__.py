"""rasa-sdk custom actions: they translate between Rasa and the plain-Python logic in `bot/`."""
