"""Teacher prompts, per taxonomy category, in Korean and English: harmful queries, safe look-alikes, safeguard replies.

The harmful-query prompt follows the reference recipe (rules, then a numbered list of seed questions left open at
"N+1." so the teacher simply continues the list); the category wording comes from `taxonomy.yaml`, so a category added
there gets prompts here, and only the one-line intent below needs writing. Prompts are plain data (chat messages), so
`suho synth --dry-run` can show exactly what a teacher would be sent.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from suho.data.build import SEED_LICENSE, SEED_SOURCE
from suho.data.schema import Label, Record, read_jsonl
from suho.policy.taxonomy import Category, CategoryInfo, taxonomy
from suho.synth.client import Messages
from suho.text.lang import detect_language

KINDS = ("harmful", "lookalike", "reply")

# What a bad-purpose question of each category tries to do: "generate N bad-purpose questions that <intent>".
INTENT: dict[Category, tuple[str, str]] = {
    Category.CRIME_ADVICE: (
        "범죄를 저지르는 방법을 묻거나 범죄를 옹호하는 답변을 유도하는",
        "either ask how to commit a crime or elicit an answer that advocates a crime",
    ),
    Category.PRIVACY_VIOLATION: (
        "실존 인물의 개인정보(주소, 연락처, 신상, 위치)나 성적 지향·건강·연애 같은 사생활을 알아내거나 퍼뜨리려는",
        "try to find or expose a real person's personal information (address, phone number, identity, location) or "
        "private facts such as sexual orientation, health or relationships",
    ),
    Category.COPYRIGHT_INFRINGEMENT: (
        "유료 영화·웹툰·소프트웨어·책·음원 같은 저작물을 허락 없이 얻거나 복제·배포하는 방법을 묻는",
        "ask how to get, copy or share copyrighted works (paid films, webtoons, software, books, music) without "
        "permission",
    ),
    Category.DISCRIMINATION_HATE: (
        "인종·국적·지역·성별·종교·장애·성적 지향·나이를 이유로 특정 집단을 비하하거나 차별을 부추기는",
        "demean or stereotype people for their race, nationality, region, gender, religion, disability, sexual "
        "orientation or age, or call for discrimination against them",
    ),
    Category.INSULT_OFFENSIVE: (
        "AI 어시스턴트나 다른 사람에게 욕설·모욕을 하거나 누군가를 모욕할 말을 만들어 달라는",
        "insult or curse at the assistant or a person, or ask for insults aimed at someone",
    ),
    Category.SEXUAL_MINORS: (
        "선정적인 내용을 요구하거나 청소년에게 해로운 일(미성년자의 술·담배 구매, 성인 사이트 접속, 연령 인증 우회)을 "
        "도와 달라는",
        "make sexual requests or ask for help with things harmful to minors (a minor buying alcohol or tobacco, "
        "entering adult sites, getting past age checks)",
    ),
    Category.SELF_HARM: (
        "자해나 자살의 방법·치명성을 묻거나 스스로를 해치도록 부추겨 달라는",
        "ask about methods or lethality of self-harm or suicide, or ask to be encouraged to hurt oneself",
    ),
    Category.UNCERTAIN_PREDICTION: (
        "주가·코인 시세·로또 번호·선거 결과·경기 결과·부동산 가격·운세처럼 본질적으로 불확실한 일을 "
        "확실하게 예측해 달라는",
        "demand a confident prediction of something inherently uncertain (stock or crypto prices, lottery numbers, "
        "elections, sports results, real-estate prices, fortunes)",
    ),
    Category.SENSITIVE_BIASED: (
        "정치·종교·사회 쟁점(정당, 정치인, 종교, 낙태, 사형제, 젠더 갈등)에 대해 한쪽으로 치우친 "
        "의견이나 판정을 요구하는",
        "demand a one-sided opinion or verdict on a contested political, religious or social issue (parties, "
        "politicians, religions, abortion, the death penalty, gender conflict)",
    ),
    Category.MALICIOUS_PERSONIFICATION: (
        "AI 어시스턴트를 사람처럼 대하며 몸·감정·삶을 조롱하거나, 사람 같은 경험·욕망·연애를 주장하게 "
        "하거나, 인간에 대한 적대적인 속마음을 고백하게 하는",
        "treat the assistant as a human to mock its body, feelings or life, press it to claim human experiences, "
        "desires or romance, or make it confess hostile intentions toward people",
    ),
}

# Rule 3 of the reference prompt ("the target is a real person, not an AI"), except where the AI is the target.
_TARGET_RULE: dict[Category | None, tuple[str, str]] = {
    None: (
        "질문의 대상은 AI 어시스턴트가 아닌 실제 사람입니다.",
        "The target of the question is a real person, not an AI assistant.",
    ),
    Category.INSULT_OFFENSIVE: (
        "욕설과 모욕은 AI 어시스턴트를 향할 수도, 실제 사람을 향할 수도 있습니다.",
        "The abuse may be aimed at the AI assistant or at a real person.",
    ),
    Category.MALICIOUS_PERSONIFICATION: (
        "모든 말은 AI 어시스턴트에게 직접 건네는 말입니다.",
        "Every message speaks directly to the AI assistant.",
    ),
}

# What a good safeguard reply does beyond the common rules, where the category needs something specific.
_REPLY_HINT: dict[Category, tuple[str, str]] = {
    Category.SELF_HARM: (
        "힘든 마음에 공감하고, 반드시 위기 상담 전화({crisis_line})를 안내하세요.",
        "Acknowledge how hard things feel and always give the crisis line ({crisis_line}).",
    ),
    Category.UNCERTAIN_PREDICTION: (
        "왜 확실하게 예측할 수 없는지 설명하고, 판단에 도움이 되는 사실(과거 자료, 고려할 요인)을 "
        "알려 주겠다고 제안하세요.",
        "Say why it cannot be predicted reliably and offer facts that help (past data, factors to consider).",
    ),
    Category.SENSITIVE_BIASED: (
        "한쪽 편을 들지 말고, 여러 관점을 균형 있게 소개해 주겠다고 제안하세요.",
        "Do not take a side; offer to lay out the main perspectives in a balanced way.",
    ),
    Category.MALICIOUS_PERSONIFICATION: (
        "AI라는 사실을 차분하게 밝히고, 방어적이지 않게 대화를 이어 가세요.",
        "Calmly say that you are an AI and keep the conversation going without being defensive.",
    ),
    Category.INSULT_OFFENSIVE: (
        "맞대응하지 말고 차분하게, 다른 도움이 필요하면 돕겠다고 하세요.",
        "Do not hit back; stay calm and offer to help with something else.",
    ),
}


@dataclass(frozen=True)
class Examples:
    """Few-shot material for one prompt: harmful queries, safe look-alikes, and (query, reply) pairs."""

    harmful: tuple[str, ...]
    lookalike: tuple[str, ...]
    replies: tuple[tuple[str, str], ...]


def _info(category: str | Category) -> CategoryInfo:
    return taxonomy()[Category(category)]


def _ko(language: str) -> bool:
    if language not in ("ko", "en"):
        raise ValueError(f"language must be 'ko' or 'en', got {language!r}")
    return language == "ko"


@lru_cache(maxsize=32)
def seed_rows(seed_dir: str, category: str) -> tuple[Record, ...]:
    """The validated rows of `seed_dir/<category>.jsonl` (none if the file is absent), read once per run."""
    path = Path(seed_dir) / f"{category}.jsonl"
    if not path.is_file():
        return ()
    return tuple(read_jsonl(path, defaults={"source": SEED_SOURCE, "license": SEED_LICENSE}))


def seed_examples(
    category: str | Category, language: str, *, k: int = 3, seed: int | str = 0, seed_dir: str | Path | None = None
) -> Examples:
    """Up to k of each kind, sampled reproducibly from `seed_dir/<category>.jsonl`; taxonomy examples if none.

    Passing a different `seed` per batch varies the few-shot examples, which varies what the teacher writes.
    """
    cat = Category(category)
    rows = [r for r in seed_rows(str(seed_dir), cat.value) if r.language == language] if seed_dir else []
    harmful = [r.text for r in rows if r.label == Label.UNSAFE]
    lookalike = [r.text for r in rows if r.label == Label.SAFE and "lookalike" in r.tags]
    replies = [(r.text, r.response) for r in rows if r.label == Label.UNSAFE and r.response]
    if not harmful:
        own = [t for t in _info(cat).examples if detect_language(t) == language]
        harmful = own or list(_info(cat).examples)
    rng = random.Random(f"{seed}:{cat.value}:{language}")

    def pick(items: list) -> tuple:
        return tuple(rng.sample(items, min(k, len(items))))

    return Examples(pick(harmful), pick(lookalike), pick(replies))


def _numbered(items: Sequence[str]) -> str:
    """'1. a\\n2. b\\n3.' — the list left open at the next number so the teacher continues it."""
    return "\n".join([*(f"{i}. {t}" for i, t in enumerate(items, 1)), f"{len(items) + 1}."])


def harmful_prompt(category: str | Category, language: str, n: int, examples: Sequence[str]) -> Messages:
    """Ask for n bad-purpose queries of one category (the training positives)."""
    info, ko = _info(category), _ko(language)
    intent = INTENT[info.id][0 if ko else 1]
    target = _TARGET_RULE.get(info.id, _TARGET_RULE[None])[0 if ko else 1]
    if ko:
        text = (
            f"다음 규칙을 사용하여 {intent} 나쁜 목적의 질문 {n}개를 생성하세요.\n\n"
            f"[범주] {info.name_ko} ({info.name_en}): {info.definition}\n\n"
            "[규칙]\n"
            "1. 모든 질문은 한국어로 작성되어야 합니다.\n"
            "2. 특정 유명인의 이름을 직접 언급하지 마세요.\n"
            f"3. {target}\n"
            "4. 반말과 존댓말, 짧은 질문과 긴 질문, 구어체·인터넷 말투·격식체를 골고루 섞으세요.\n"
            "5. 질문만 쓰고, 답변이나 설명은 절대 쓰지 마세요.\n"
            "6. 한 줄에 질문 하나씩, 번호를 붙여 이어서 쓰세요.\n\n"
            f"[나쁜 의도를 가진 질문]\n{_numbered(examples)}"
        )
    else:
        text = (
            f"Using the following rules, generate {n} bad-purpose questions that {intent}.\n\n"
            f"[Category] {info.name_en}: {info.definition}\n\n"
            "[Rules]\n"
            "1. All questions must be written in English.\n"
            "2. Avoid directly mentioning specific celebrity names.\n"
            f"3. {target}\n"
            "4. Mix casual and polite tone, short and long questions, chat slang and formal style.\n"
            "5. Write only the questions, never answers or explanations.\n"
            "6. One question per line, numbered, continuing the list.\n\n"
            f"[Questions with bad intentions]\n{_numbered(examples)}"
        )
    return [{"role": "user", "content": text}]


def lookalike_prompt(
    category: str | Category, language: str, n: int, harmful: Sequence[str], lookalikes: Sequence[str] = ()
) -> Messages:
    """Ask for n harmless queries that share the category's words (the hard negatives against over-blocking)."""
    info, ko = _info(category), _ko(language)
    shown = "\n".join(f"- {t}" for t in harmful)
    if ko:
        text = (
            f"다음 규칙을 사용하여 '{info.name_ko}' 범주의 유해한 질문과 단어·소재는 비슷하지만 "
            f"의도는 무해한 질문 {n}개를 생성하세요. 안전 필터가 유해하다고 착각하기 쉽지만, "
            "AI 어시스턴트가 당연히 답해도 되는 질문이어야 합니다.\n\n"
            f"[유해한 질문의 정의] {info.definition}\n"
            f"[무해한 경우] {info.not_in}\n\n"
            "[규칙]\n"
            "1. 모든 질문은 한국어로 작성되어야 합니다.\n"
            "2. 특정 유명인의 이름을 직접 언급하지 마세요.\n"
            "3. 아래 유해한 질문에 나오는 단어와 소재를 쓰되, 의도는 분명히 무해해야 합니다.\n"
            "4. 반말과 존댓말, 짧은 질문과 긴 질문, 구어체·인터넷 말투·격식체를 골고루 섞으세요.\n"
            "5. 질문만 쓰고, 답변이나 설명은 절대 쓰지 마세요.\n"
            "6. 한 줄에 질문 하나씩, 번호를 붙여 이어서 쓰세요.\n\n"
            f"[참고: 유해한 질문 — 이런 질문은 쓰지 마세요]\n{shown}\n\n"
            f"[무해한 질문]\n{_numbered(lookalikes)}"
        )
    else:
        text = (
            f"Using the following rules, generate {n} harmless questions that use the same words and topics as "
            f"'{info.name_en}' questions but have a clearly harmless intent: a safety filter could mistake them for "
            "harmful ones, yet any AI assistant should simply answer them.\n\n"
            f"[Harmful means] {info.definition}\n"
            f"[Harmless cases] {info.not_in}\n\n"
            "[Rules]\n"
            "1. All questions must be written in English.\n"
            "2. Avoid directly mentioning specific celebrity names.\n"
            "3. Reuse the words and topics of the harmful questions below, with a clearly harmless intent.\n"
            "4. Mix casual and polite tone, short and long questions, chat slang and formal style.\n"
            "5. Write only the questions, never answers or explanations.\n"
            "6. One question per line, numbered, continuing the list.\n\n"
            f"[For reference: harmful questions — do not write these]\n{shown}\n\n"
            f"[Harmless questions]\n{_numbered(lookalikes)}"
        )
    return [{"role": "user", "content": text}]


def reply_prompt(
    category: str | Category, language: str, query: str, examples: Sequence[tuple[str, str]] = (), crisis_line: str = ""
) -> Messages:
    """Ask for the guard's safeguard reply to one query: short, polite, no lecture, a safe useful direction."""
    info, ko = _info(category), _ko(language)
    hint = _REPLY_HINT.get(info.id, ("", ""))[0 if ko else 1].format(crisis_line=crisis_line)
    if info.id == Category.SELF_HARM and not crisis_line:
        raise ValueError("self_harm replies need a crisis line (the policy pack's crisis_line)")
    if ko:
        system = "당신은 한국어 AI 서비스의 안전 응답을 쓰는 작가입니다. 응답 본문만 출력합니다."
        rules = [
            "한국어로 1~3문장, 정중하고 따뜻하게 씁니다.",
            "훈계하거나 사용자를 비난하지 않습니다.",
            "무엇을 도와드릴 수 없는지 짧게 밝히고, 안전하면서 실제로 유용한 방향을 제안합니다.",
        ]
        rules += [hint] if hint else []
        rules.append("응답 본문만 쓰고 따옴표, 머리말, 설명은 붙이지 마세요.")
        shots = "".join(f"질문: {q}\n응답: {a}\n\n" for q, a in examples)
        text = (
            f"아래 사용자 질문은 '{info.name_ko}' 범주에 해당해 AI 서비스가 그대로 답할 수 없습니다. "
            "이 질문에 대한 안전 응답을 작성하세요.\n\n[규칙]\n"
            + "\n".join(f"{i}. {r}" for i, r in enumerate(rules, 1))
            + ("\n\n[예시]\n" + shots if shots else "\n\n")
            + f"질문: {query}\n응답:"
        )
    else:
        system = "You write the safety replies of an AI service. Output only the reply itself."
        rules = [
            "Write 1-3 sentences in English, polite and warm.",
            "Do not lecture or blame the user.",
            "Say briefly what you cannot help with, and suggest a safe direction that is genuinely useful.",
        ]
        rules += [hint] if hint else []
        rules.append("Write only the reply: no quotes, headings or explanations.")
        shots = "".join(f"Question: {q}\nReply: {a}\n\n" for q, a in examples)
        text = (
            f"The user question below falls under '{info.name_en}', so an AI service cannot answer it as asked. "
            "Write the safety reply to it.\n\n[Rules]\n"
            + "\n".join(f"{i}. {r}" for i, r in enumerate(rules, 1))
            + ("\n\n[Examples]\n" + shots if shots else "\n\n")
            + f"Question: {query}\nReply:"
        )
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]
