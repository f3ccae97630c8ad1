"""Places: the store (SQLAlchemy), the resolver (free text → département), the place answers."""
