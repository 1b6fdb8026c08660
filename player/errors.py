"""One line from an exception, for the one-line error messages every command prints.

Library exceptions (onnxruntime, Keras, json, Pillow) often carry several lines, sometimes
none at all: `str(e).splitlines()[0]` raises IndexError on an empty message, which turned
an error report into a traceback.
"""


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first non-blank line of the message, at most `limit` characters; the exception's
    type name when the message is empty."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(error).__name__
