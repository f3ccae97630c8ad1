"""Secrets never reach a log line or a printed message: one masking function for every output.

`mask_secrets` hides the password of every URL (`postgresql://user:***@host/db`,
`redis://:***@host:6379/1`), the value of `token=` / `password=` parameters, and the value of the
secret environment variables (`RASA_API_TOKEN`…) wherever it appears. `MaskingFilter` applies it to
every record of a logging handler (installed on the root handlers by the Rasa server's stores).
"""

from __future__ import annotations

import logging
import re

from bot.config import settings

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*:)[^@\s/'\"]+(?=@)")
_SECRET_PARAMETER = re.compile(r"(?i)(?P<head>\b(?:token|password|passwd|secret)=)[^&\s'\"]+")


def mask_secrets(text: str) -> str:
    """`text` with URL passwords, secret parameters and secret variables' values masked."""
    text = _URL_PASSWORD.sub(lambda match: match["head"] + MASK, text)
    text = _SECRET_PARAMETER.sub(lambda match: match["head"] + MASK, text)
    for value in _secret_values():
        if len(value) >= 4:  # a very short value would mask ordinary words
            text = text.replace(value, MASK)
    return text


def _secret_values() -> list[str]:
    """The settings whose value is a secret as a whole (URLs are handled by the patterns)."""
    secret = settings().rasa_api_token.get_secret_value()
    return [secret] if secret else []


class MaskingFilter(logging.Filter):
    """Masks secrets in the formatted message and the traceback of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


def install_masking_filter() -> None:
    """Adds the filter (once) to every handler configured so far: the root logger's (where Rasa's
    and the project's records end up) and those of loggers with their own (Sanic's)."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
                handler.addFilter(MaskingFilter())
