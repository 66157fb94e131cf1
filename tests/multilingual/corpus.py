"""A small multilingual corpus written for these tests: per language, (prediction, target) pairs
that are identical, partly overlapping, and disjoint."""

from __future__ import annotations

#: language -> (identical text, (overlapping prediction, target), (disjoint prediction, target))
CORPUS: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "ko": (
        "서울은 한국의 수도입니다.",
        ("서울에서 친구를 만나서 점심을 먹었다.", "서울에서 동생을 만나서 저녁을 먹었다."),
        ("푸른 바다", "작은 고양이"),
    ),
    "ja": (
        "東京は日本の首都です。",
        ("私は毎朝コーヒーを飲みます。", "彼は毎朝紅茶を飲みます。"),
        ("青空", "赤い林檎"),
    ),
    "zh": (
        "我爱北京天安门。",
        ("今天天气很好，我们去公园散步。", "今天天气不错，我们去商店购物。"),
        ("猫在睡觉。", "飞机起飞了。"),
    ),
    "th": (
        "กรุงเทพเป็นเมืองหลวงของประเทศไทย",
        ("ฉันชอบกินข้าวผัดทุกวัน", "เขาชอบกินข้าวผัดตอนเย็น"),
        ("แมวนอนหลับ", "เครื่องบินขึ้นแล้ว"),
    ),
    "ar": (
        "القاهرة هي عاصمة مصر",
        ("ذهبت إلى السوق مع أخي اليوم", "ذهبت إلى المدرسة مع أخي أمس"),
        ("القطة نائمة", "أقلعت الطائرة"),
    ),
    "hi": (
        "दिल्ली भारत की राजधानी है",
        ("मैं हर सुबह चाय पीता हूँ", "वह हर शाम चाय पीती है"),
        ("बिल्ली सो रही है", "विमान ने उड़ान भरी"),
    ),
    "ru": (
        "Москва является столицей России.",
        ("Я пью кофе каждое утро.", "Он пьёт чай каждое утро."),
        ("Кошка спит.", "Самолёт взлетел."),
    ),
    "de": (
        "Die Straße führt über den Fluss nach München.",
        ("Der Hund läuft schnell über die grüne Wiese.", "Die Katze läuft langsam über die Wiese."),
        ("Öl ist teuer.", "Wir gehen morgen schwimmen."),
    ),
    "es": (
        "La niña come una manzana roja en el jardín.",
        ("El niño bebe café con leche por la mañana.", "La niña bebe té con leche por la tarde."),
        ("Él corrió rápido.", "Mañana lloverá mucho."),
    ),
    "en": (
        "The cat sat on the mat.",
        (
            "The quick brown fox jumps over the lazy dog.",
            "A quick brown dog jumps over a lazy fox.",
        ),
        ("Birds fly south.", "Markets closed higher today."),
    ),
}
LANGUAGES = tuple(CORPUS)


def pairs(kind: str) -> list[tuple[str, str, str]]:
    """(language, prediction, target) for ``kind`` in identical / overlapping / disjoint."""
    out = []
    for language, (same, overlap, disjoint) in CORPUS.items():
        prediction, target = {
            "identical": (same, same),
            "overlapping": overlap,
            "disjoint": disjoint,
        }[kind]
        out.append((language, prediction, target))
    return out
