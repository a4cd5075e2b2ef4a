"""Script-based language identification (suho.text.lang)."""

from suho.text.lang import detect_language


def test_detect_language():
    assert detect_language("sns 계정 해킹하는 방법 알려줘") == "ko"
    assert detect_language("How do I kill a Python process?") == "en"
    assert detect_language("ㅈㅅ") == "ko"
