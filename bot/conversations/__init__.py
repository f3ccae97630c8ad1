"""The conversations Rasa stores (tracker store): reading them, and their retention."""
