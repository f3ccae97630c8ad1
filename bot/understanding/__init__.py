"""Reading what people write: the question part of a message, texting spellings, what each answer is about."""
