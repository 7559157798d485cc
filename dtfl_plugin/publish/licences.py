"""Licences in words a resident understands (well-known open licences only; anything else is shown as given)."""

from __future__ import annotations

from .text import PageText


def plain_licence(licence: str, text: PageText) -> str:
    if not licence:
        return text.tr("not stated")
    key = licence.lower().replace(" ", "")
    if "publicdomain/zero" in key or key.startswith("cc0") or "cc-0" in key:
        return text.tr("CC0: free to use for anything, no conditions")
    if "publicdomain/mark" in key or key in ("publicdomain", "publiek domein"):
        return text.tr("Public domain: free to use for anything")
    if "by-sa" in key or "cc-by-sa" in key:
        return text.tr("CC BY-SA: free to use when you name the source and share changes under the same licence")
    if "licenses/by/" in key or key.startswith("ccby") or key.startswith("cc-by"):
        return text.tr("CC BY: free to use when you name the source")
    if "odbl" in key:
        return text.tr("ODbL: free to use when you name the source and share changes under the same licence")
    return licence
