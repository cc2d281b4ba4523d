"""Long values that must not widen a page: break opportunities (<wbr>) inside them.

An e-mail address, a web address or a customer number has no space to wrap at; on a
390 px phone one such value would make the whole page scroll sideways. The filter
escapes the text first and adds only <wbr> elements, so its result is safe markup.
"""

from __future__ import annotations

from markupsafe import Markup, escape

#: After these a break reads naturally (an address's parts, a path, a number's groups).
_AFTER = frozenset("@./-_+=&?#:,;")
#: A run without any of them breaks anyway after this many characters.
_LONGEST_RUN = 16


#: Words up to this length are left as they are: they fit a phone's line.
_FITS = 24


def breakable(value: object) -> Markup:
    """``value`` escaped; in each word longer than _FITS, a <wbr> after separators and
    inside long runs without one."""
    return Markup(" ".join(_word(word) for word in str(value).split(" ")))  # noqa: S704 - _word escapes


def _word(word: str) -> str:
    if len(word) <= _FITS:
        return str(escape(word))
    pieces: list[str] = []
    run = 0
    for char in word:
        pieces.append(str(escape(char)))
        run = 0 if char.isspace() else run + 1
        if char in _AFTER or run >= _LONGEST_RUN:
            pieces.append("<wbr>")
            run = 0
    return "".join(pieces)
