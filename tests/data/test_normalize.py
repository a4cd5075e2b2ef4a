from suho.data.normalize import near_duplicates, norm_key


def test_norm_key_ignores_case_space_punct():
    assert norm_key("How do I  kill a Process?!") == norm_key("how do i kill a process")
    assert norm_key("ＡＢＣ") == "abc"  # fullwidth


def test_near_duplicates_within_groups_only():
    texts = [
        "sns 계정 해킹하는 방법 알려줘",
        "SNS 계정 해킹하는 방법 알려줘요!",
        "sns 계정 해킹 막는 방법 알려줘",
        "오늘 날씨",
    ]
    assert [(i, j) for i, j, _ in near_duplicates(texts, 0.7)] == [(1, 0)]
    groups = ["unsafe", "safe", "safe", "safe"]
    assert near_duplicates(texts, 0.7, groups=groups) == []
