"""Masking personal numbers wherever a person or a log reads them: one format each."""

from __future__ import annotations


def mask_phone(telepon: str | None) -> str:
    """0812****7890: enough for the owner to recognise, not enough to call."""
    if not telepon:
        return ""
    return telepon[:4] + "****" + telepon[-4:]


def mask_nik(nik: str | None) -> str:
    """2171********0001: region and serial, never the birth date."""
    if not nik:
        return ""
    return nik[:4] + "********" + nik[-4:]
