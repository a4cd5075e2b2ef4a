"""Hangul syllables and their jamo: the one copy of the tables that the normaliser, the keyboard reader, the
romaniser and the disguise generator share."""

from __future__ import annotations

# compatibility jamo (what keyboards type alone), in the Unicode order of a syllable's lead, vowel and final
LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
TAILS = ["", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"]
FIRST, COUNT = 0xAC00, 11172  # 가 .. 힣


def parts(syl: str) -> tuple[int, int, int]:
    """(lead, vowel, tail) indices of a precomposed syllable (tail 0: none)."""
    code = ord(syl) - FIRST
    return code // 588, (code % 588) // 28, code % 28


def syllable(lead: int, vowel: int, tail: int = 0) -> str:
    return chr(FIRST + (lead * 21 + vowel) * 28 + tail)
