"""Java's number formatting as Weka's text output uses it, byte for byte.

Two different roundings meet in Weka's text:

* ``Utils.doubleToString`` (summary block, confusion matrix) formats with ``java.text.DecimalFormat``:
  HALF_UP applied to the *exact binary value*, at most ``d`` fraction digits, trailing zeros dropped,
  then decimal-aligned in a fixed-width field;
* ``String.format("%-W.3f")`` (class-details table) rounds HALF_UP on the *shortest decimal digits* of
  the double (``Double.toString``), so 0.1245 prints ``0.125`` where Python's ``'%.3f'`` prints 0.124.
"""

from __future__ import annotations

import decimal
import math

__all__ = ["decimal_format", "double_to_string", "java_fixed", "num_to_short_id"]

# Enough digits for any double quantized to a few decimals (doubles reach 1e308).
_CONTEXT = decimal.Context(prec=400, rounding=decimal.ROUND_HALF_UP)
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz"


def _plain(number: decimal.Decimal) -> str:
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def decimal_format(value: float, digits: int) -> str:
    """``Utils.doubleToString(value, digits)``: DecimalFormat, HALF_UP on the exact binary value.

    Trailing zeros are dropped (``0.50`` → ``"0.5"``, ``96.0`` → ``"96"``); a negative number that
    rounds to zero keeps its sign (``"-0"``), as DecimalFormat does.
    """
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    quantum = decimal.Decimal(1).scaleb(-digits)
    return _plain(decimal.Decimal(value).quantize(quantum, context=_CONTEXT))


def double_to_string(value: float, width: int, digits: int) -> str:
    """``Utils.doubleToString(value, width, digits)``: ``decimal_format`` aligned on the decimal point.

    The point sits at index ``width - digits - 1``, the integer part is right-aligned before it and
    the fraction left-aligned after it (the rest is spaces); a number that does not fit comes back
    unaligned, exactly as in Weka.
    """
    text = decimal_format(value, digits)
    if digits >= width:
        return text
    result = [" "] * width
    if digits > 0:
        dot = text.find(".")
        if dot == -1:
            dot = len(text)
        else:
            result[width - digits - 1] = "."
    else:
        dot = len(text)
    offset = width - digits - dot - (1 if digits > 0 else 0)
    if offset < 0:
        return text
    for i in range(dot):
        result[offset + i] = text[i]
    for i in range(dot + 1, len(text)):
        result[offset + i] = text[i]
    return "".join(result)


def java_fixed(value: float, digits: int = 3, width: int = 0) -> str:
    """``String.format("%-<width>.<digits>f", value)``: HALF_UP on the shortest decimal repr, left-justified."""
    value = float(value)
    if math.isnan(value):
        text = "NaN"
    elif math.isinf(value):
        text = "Infinity" if value > 0 else "-Infinity"
    else:
        quantum = decimal.Decimal(1).scaleb(-digits)
        text = format(decimal.Decimal(repr(value)).quantize(quantum, context=_CONTEXT), "f")
    return text.ljust(width)


def num_to_short_id(num: int, width: int) -> str:
    """Weka's ``num2ShortID``: the confusion-matrix letter code (a..z, then aa, ab, ...), right-aligned."""
    chars = [" "] * width
    i = width - 1
    while i >= 0:
        chars[i] = _ID_CHARS[num % 26]
        num = num // 26 - 1
        if num < 0:
            break
        i -= 1
    return "".join(chars)
