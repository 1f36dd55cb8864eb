"""Seeded, reproducible synthetic B2B data: companies, people, campaigns and what people did.

``generate(seed, now=...)`` builds a data set that looks like a Japanese B2B marketing
department's: about four in five companies are Japanese (spread over the prefectures by business
population, with postal codes and phone area codes that fit), the rest are foreign. People carry a
*persona* (see :data:`PERSONAS`) that decides what they did; ``DemoData.truth`` maps every e-mail
to its persona so tests can count what the engine should conclude independently of the engine.

Everything is a pure function of ``(seed, now, companies, people, days)``: the same inputs give
identical output. Standard library only.

The personas are built so that each one shows one thing:

* the disqualifying personas (competitor, free_mail, student, unserved_country, job_seeker) have
  exactly one disqualifying trait each, and no other persona has any;
* the qualifying signals -- a hand raise, a webinar + survey "wants contact" on the same
  campaign, a detailed booth talk, BANT collected -- are each given to one persona only, at a
  target-industry company in a served country, so those leads pass the fit gate. The one
  exception is on purpose: some disqualified people (free-mail, competitors, unserved countries,
  job seekers using the contact form) also raise their hands, because disqualification must win.
* The level-defining activities sit within the last 150 days whatever ``days`` is, so the default
  playbook's 180-day windows see them.
"""

from __future__ import annotations

import math
import random
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "COMPETITOR_DOMAINS",
    "DISQUALIFYING_PERSONAS",
    "FREE_MAIL_DOMAINS",
    "PERSONAS",
    "PERSONA_SHARES",
    "SERVED_COUNTRIES",
    "TARGET_INDUSTRIES",
    "UNSERVED_COUNTRIES",
    "DemoData",
    "generate",
]

TOKYO = ZoneInfo("Asia/Tokyo")

COMPETITOR_DOMAINS: tuple[str, ...] = ("rival-ma.co.jp", "competitor-crm.com", "leadforge.io")
FREE_MAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "yahoo.co.jp", "outlook.jp", "docomo.ne.jp", "icloud.com")
SERVED_COUNTRIES: tuple[str, ...] = ("JP", "US", "SG", "TW", "KR", "GB", "DE", "AU")
UNSERVED_COUNTRIES: tuple[str, ...] = ("BR", "IN", "FR")
TARGET_INDUSTRIES: tuple[str, ...] = (
    "manufacturing",
    "it",
    "software",
    "finance",
    "logistics",
    "retail",
    "healthcare",
    "construction",
)
OTHER_INDUSTRIES: tuple[str, ...] = ("education", "government", "hospitality", "media", "agriculture")
HAND_RAISE_TYPES: tuple[str, ...] = ("demo_requested", "contact_requested", "free_audit_requested")

#: Persona label -> share of people at any size (largest-remainder rounding, at least one each).
PERSONA_SHARES: dict[str, float] = {
    "competitor": 0.02,
    "free_mail": 0.06,
    "student": 0.02,
    "unserved_country": 0.02,
    "job_seeker": 0.01,
    "hand_raiser": 0.04,
    "webinar_wants_contact": 0.03,
    "booth_talk": 0.03,
    "bant": 0.03,
    "dormant": 0.05,
    "engaged": 0.08,
    "light": 0.25,
    "trade_show_only": 0.09,
    "document_only": 0.10,
    "webinar_attendee": 0.09,
    "no_show": 0.08,
}
PERSONAS: tuple[str, ...] = tuple(PERSONA_SHARES)
DISQUALIFYING_PERSONAS: tuple[str, ...] = ("competitor", "free_mail", "student", "unserved_country", "job_seeker")
#: Personas whose signal should make them MQL; always at a target-industry company.
_STRONG_PERSONAS = frozenset({"hand_raiser", "webinar_wants_contact", "booth_talk", "bant"})

MIN_COMPANIES = 20
MIN_PEOPLE = 50
MIN_DAYS = 7
#: Level-defining activities stay within this many days (the default playbook looks back 180).
KEY_HORIZON_DAYS = 150
_MAX_PEOPLE_PER_COMPANY = 25

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DemoData:
    """A generated data set. Plain dicts, ready to feed to the intake or to build domain objects.

    ``duplicates`` is how many activity records are exact repeats of another record (same
    ``source_id``), to exercise idempotent intake.
    """

    accounts: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    leads: list[dict[str, Any]]
    activities: list[dict[str, Any]]
    truth: dict[str, str]
    duplicates: int


# --------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------

# name, region, business weight, postal 3-digit ranges (the first is the main city), main-city
# area code, area code outside the main city.
_PREFECTURES: tuple[tuple[str, str, float, tuple[tuple[int, int], ...], str, str], ...] = (
    ("北海道", "hokkaido", 3.5, ((60, 65), (40, 99)), "011", "0166"),
    ("青森県", "tohoku", 0.6, ((30, 39),), "017", "017"),
    ("岩手県", "tohoku", 0.6, ((20, 29),), "019", "019"),
    ("宮城県", "tohoku", 1.8, ((980, 989),), "022", "022"),
    ("秋田県", "tohoku", 0.5, ((10, 19),), "018", "018"),
    ("山形県", "tohoku", 0.6, ((990, 999),), "023", "023"),
    ("福島県", "tohoku", 1.0, ((960, 979),), "024", "024"),
    ("茨城県", "kanto", 1.6, ((300, 319),), "029", "029"),
    ("栃木県", "kanto", 1.1, ((320, 329),), "028", "028"),
    ("群馬県", "kanto", 1.1, ((370, 379),), "027", "027"),
    ("埼玉県", "kanto", 3.5, ((330, 369),), "048", "048"),
    ("千葉県", "kanto", 3.0, ((260, 299),), "043", "043"),
    ("東京都", "kanto", 28.0, ((100, 179), (100, 208)), "03", "042"),
    ("神奈川県", "kanto", 5.5, ((220, 247), (210, 259)), "045", "046"),
    ("新潟県", "chubu", 1.2, ((940, 959),), "025", "025"),
    ("富山県", "chubu", 0.6, ((930, 939),), "076", "076"),
    ("石川県", "chubu", 0.7, ((920, 929),), "076", "076"),
    ("福井県", "chubu", 0.5, ((910, 919),), "0776", "0776"),
    ("山梨県", "chubu", 0.5, ((400, 409),), "055", "055"),
    ("長野県", "chubu", 1.1, ((380, 399),), "026", "026"),
    ("岐阜県", "chubu", 1.0, ((500, 509),), "058", "058"),
    ("静岡県", "chubu", 2.2, ((410, 439),), "054", "054"),
    ("愛知県", "chubu", 6.5, ((450, 468), (440, 499)), "052", "0566"),
    ("三重県", "chubu", 0.9, ((510, 519),), "059", "059"),
    ("滋賀県", "kinki", 1.0, ((520, 529),), "077", "077"),
    ("京都府", "kinki", 2.4, ((600, 616), (600, 629)), "075", "0774"),
    ("大阪府", "kinki", 9.5, ((530, 559), (530, 599)), "06", "072"),
    ("兵庫県", "kinki", 3.8, ((650, 658), (650, 679)), "078", "079"),
    ("奈良県", "kinki", 0.8, ((630, 639),), "0742", "0742"),
    ("和歌山県", "kinki", 0.6, ((640, 649),), "073", "073"),
    ("鳥取県", "chugoku", 0.3, ((680, 689),), "0857", "0857"),
    ("島根県", "chugoku", 0.3, ((690, 699),), "0852", "0852"),
    ("岡山県", "chugoku", 1.0, ((700, 719),), "086", "086"),
    ("広島県", "chugoku", 1.9, ((730, 739), (720, 739)), "082", "084"),
    ("山口県", "chugoku", 0.6, ((740, 759),), "083", "083"),
    ("徳島県", "shikoku", 0.4, ((770, 779),), "088", "088"),
    ("香川県", "shikoku", 0.6, ((760, 769),), "087", "087"),
    ("愛媛県", "shikoku", 0.7, ((790, 799),), "089", "089"),
    ("高知県", "shikoku", 0.4, ((780, 789),), "088", "088"),
    ("福岡県", "kyushu", 4.0, ((810, 819), (800, 839)), "092", "093"),
    ("佐賀県", "kyushu", 0.4, ((840, 849),), "0952", "0952"),
    ("長崎県", "kyushu", 0.6, ((850, 859),), "095", "095"),
    ("熊本県", "kyushu", 0.9, ((860, 869),), "096", "096"),
    ("大分県", "kyushu", 0.6, ((870, 879),), "097", "097"),
    ("宮崎県", "kyushu", 0.5, ((880, 889),), "0985", "0985"),
    ("鹿児島県", "kyushu", 0.8, ((890, 899),), "099", "099"),
    ("沖縄県", "kyushu", 0.7, ((900, 909),), "098", "098"),
)
_PREF_BY_NAME = {p[0]: p for p in _PREFECTURES}
_PREF_NAMES = tuple(p[0] for p in _PREFECTURES)
_PREF_CUM = tuple(accumulate(p[2] for p in _PREFECTURES))

_JP_STEMS: tuple[tuple[str, str], ...] = (
    ("さくら", "sakura"),
    ("大和", "yamato"),
    ("東洋", "toyo"),
    ("富士", "fuji"),
    ("三和", "sanwa"),
    ("平和", "heiwa"),
    ("北斗", "hokuto"),
    ("青葉", "aoba"),
    ("朝日", "asahi"),
    ("光洋", "koyo"),
    ("明和", "meiwa"),
    ("昭栄", "shoei"),
    ("大成", "taisei"),
    ("協和", "kyowa"),
    ("中央", "chuo"),
    ("丸山", "maruyama"),
    ("高砂", "takasago"),
    ("若葉", "wakaba"),
    ("双葉", "futaba"),
    ("千代田", "chiyoda"),
    ("日進", "nisshin"),
    ("新星", "shinsei"),
    ("明星", "myojo"),
    ("白鳥", "shiratori"),
    ("黒潮", "kuroshio"),
    ("みどり", "midori"),
    ("玉川", "tamagawa"),
    ("武蔵", "musashi"),
    ("相模", "sagami"),
    ("湘南", "shonan"),
    ("共栄", "kyoei"),
    ("信和", "shinwa"),
    ("太陽", "taiyo"),
    ("日昇", "nissho"),
    ("旭光", "kyokko"),
    ("栄光", "eiko"),
    ("飛鳥", "asuka"),
    ("葵", "aoi"),
    ("松風", "matsukaze"),
    ("天城", "amagi"),
    ("大樹", "taiju"),
    ("昭和", "showa"),
    ("永和", "eiwa"),
    ("誠和", "seiwa"),
    ("東邦", "toho"),
)
_REGION_STEMS: dict[str, tuple[tuple[str, str], ...]] = {
    "kinki": (
        ("浪速", "naniwa"),
        ("難波", "namba"),
        ("京阪", "keihan"),
        ("近江", "omi"),
        ("紀州", "kishu"),
        ("大和路", "yamatoji"),
        ("六甲", "rokko"),
        ("淀川", "yodogawa"),
        ("北摂", "hokusetsu"),
        ("泉州", "senshu"),
        ("洛北", "rakuhoku"),
        ("播磨", "harima"),
        ("琵琶湖", "biwako"),
    ),
    "chubu": (("東海", "tokai"), ("尾張", "owari"), ("三河", "mikawa"), ("北陸", "hokuriku"), ("駿河", "suruga")),
    "kyushu": (("博多", "hakata"), ("筑紫", "tsukushi"), ("玄海", "genkai"), ("火の国", "hinokuni")),
    "hokkaido": (("石狩", "ishikari"), ("十勝", "tokachi"), ("北辰", "hokushin")),
    "tohoku": (("奥羽", "ou"), ("みちのく", "michinoku"), ("陸奥", "mutsu")),
    "chugoku": (("瀬戸内", "setouchi"), ("吉備", "kibi"), ("安芸", "aki")),
    "shikoku": (("讃岐", "sanuki"), ("土佐", "tosa"), ("伊予", "iyo")),
}
# industry -> (name part, domain part)
_JP_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "manufacturing": (
        ("製作所", "seisakusho"),
        ("工業", "kogyo"),
        ("精機", "seiki"),
        ("電機", "denki"),
        ("化学", "kagaku"),
        ("金属", "kinzoku"),
        ("精密", "seimitsu"),
        ("機械", "kikai"),
    ),
    "it": (
        ("システムズ", "systems"),
        ("インフォテック", "infotech"),
        ("ネットワークス", "networks"),
        ("テクノロジーズ", "technologies"),
    ),
    "software": (("ソフトウェア", "software"), ("ソフト", "soft"), ("デジタル", "digital"), ("ラボ", "lab")),
    "finance": (
        ("証券", "shoken"),
        ("フィナンシャル", "financial"),
        ("リース", "lease"),
        ("信用金庫", "shinkin"),
        ("損害保険", "sonpo"),
    ),
    "logistics": (
        ("ロジスティクス", "logistics"),
        ("物流", "butsuryu"),
        ("運輸", "unyu"),
        ("倉庫", "soko"),
        ("通運", "tsuun"),
    ),
    "retail": (("商事", "shoji"), ("商店", "shoten"), ("ストアーズ", "stores"), ("百貨店", "depart")),
    "healthcare": (("メディカル", "medical"), ("製薬", "seiyaku"), ("ヘルスケア", "healthcare"), ("医療器", "iryoki")),
    "construction": (("建設", "kensetsu"), ("工務店", "komuten"), ("ハウス", "house"), ("土木", "doboku")),
    "education": (("大学", "u"), ("学園", "gakuen")),
    "government": (("市役所", "city"),),
    "hospitality": (("ホテルズ", "hotels"), ("観光", "kanko"), ("リゾート", "resort")),
    "media": (("出版", "shuppan"), ("放送", "hoso"), ("メディア", "media"), ("新聞社", "shimbun")),
    "agriculture": (("農産", "nosan"), ("ファーム", "farm"), ("アグリ", "agri")),
}
_JP_INDUSTRY_WEIGHTS: dict[str, float] = {
    "manufacturing": 22,
    "it": 9,
    "software": 7,
    "finance": 6,
    "logistics": 8,
    "retail": 9,
    "healthcare": 7,
    "construction": 8,
    "government": 3,
    "hospitality": 4,
    "media": 3,
    "agriculture": 2,
}
_FOREIGN_INDUSTRY_WEIGHTS: dict[str, float] = {
    "manufacturing": 16,
    "it": 12,
    "software": 14,
    "finance": 8,
    "logistics": 8,
    "retail": 7,
    "healthcare": 7,
    "construction": 5,
    "hospitality": 4,
    "media": 4,
    "agriculture": 2,
}
_JP_INDUSTRIES = tuple(_JP_INDUSTRY_WEIGHTS.items())
_FOREIGN_INDUSTRIES = tuple(_FOREIGN_INDUSTRY_WEIGHTS.items())
_FOREIGN_STEMS: tuple[str, ...] = (
    "Northwind",
    "Bluefin",
    "Summit",
    "Harbor",
    "Redwood",
    "Granite",
    "Pioneer",
    "Meridian",
    "Atlas",
    "Lumen",
    "Kestrel",
    "Evergreen",
    "Silverline",
    "Brightwater",
    "Ironbridge",
    "Oakridge",
    "Cobalt",
    "Nimbus",
    "Vertex",
    "Sterling",
    "Horizon",
    "Falcon",
    "Cedar",
    "Aurora",
    "Beacon",
    "Crescent",
    "Juniper",
    "Riverside",
    "Westgate",
    "Orchid",
    "Lotus",
    "Banyan",
    "Kingfisher",
    "Halcyon",
    "Tidewater",
)
_FOREIGN_SUFFIXES: dict[str, tuple[str, ...]] = {
    "manufacturing": ("Industries", "Manufacturing", "Precision"),
    "it": ("Systems", "Networks", "IT Services"),
    "software": ("Software", "Labs", "Cloud"),
    "finance": ("Capital", "Financial", "Bank"),
    "logistics": ("Logistics", "Freight"),
    "retail": ("Retail", "Stores"),
    "healthcare": ("Health", "Medical"),
    "construction": ("Construction", "Builders"),
    "education": ("University", "Institute of Technology"),
    "hospitality": ("Hotels", "Resorts"),
    "media": ("Media", "Publishing"),
    "agriculture": ("Agritech", "Farms"),
}
# country -> (legal form, company TLD, university domain pattern, region, phone prefix)
_FOREIGN: dict[str, tuple[str, str, str, str, str]] = {
    "US": ("Inc.", ".com", "{s}.edu", "americas", "+1"),
    "GB": ("Ltd", ".co.uk", "{s}.ac.uk", "emea", "+44"),
    "DE": ("GmbH", ".de", "uni-{s}.de", "emea", "+49"),
    "AU": ("Pty Ltd", ".com.au", "{s}.edu.au", "apac", "+61"),
    "SG": ("Pte. Ltd.", ".com.sg", "{s}.edu.sg", "apac", "+65"),
    "TW": ("Co., Ltd.", ".com.tw", "{s}.edu.tw", "apac", "+886"),
    "KR": ("Co., Ltd.", ".co.kr", "{s}.ac.kr", "apac", "+82"),
    "BR": ("Ltda.", ".com.br", "{s}.edu.br", "americas", "+55"),
    "IN": ("Pvt. Ltd.", ".co.in", "{s}.ac.in", "apac", "+91"),
    "FR": ("SAS", ".fr", "univ-{s}.fr", "emea", "+33"),
}
# Everything after the country code; filled with random digits.
_FOREIGN_PHONES = {
    "DE": "+49 30 {}{}{}{}{}{}{}",
    "AU": "+61 2 9{}{}{} {}{}{}{}",
    "SG": "+65 6{}{}{} {}{}{}{}",
    "TW": "+886 2 2{}{}{} {}{}{}{}",
    "KR": "+82 2-3{}{}{}-{}{}{}{}",
    "BR": "+55 11 3{}{}{}-{}{}{}{}",
    "IN": "+91 80 {}{}{}{} {}{}{}{}",
    "FR": "+33 1 {}{} {}{} {}{} {}{}",
}
_SERVED_FOREIGN = ("US", "SG", "TW", "KR", "GB", "DE", "AU")
_SERVED_FOREIGN_CUM = tuple(accumulate((30, 14, 12, 12, 12, 11, 9)))

_JP_FAMILY: tuple[tuple[str, str], ...] = (
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
    ("佐々木", "sasaki"),
    ("山口", "yamaguchi"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
    ("林", "hayashi"),
    ("斎藤", "saito"),
    ("清水", "shimizu"),
    ("山崎", "yamazaki"),
    ("森", "mori"),
    ("池田", "ikeda"),
    ("橋本", "hashimoto"),
    ("阿部", "abe"),
    ("石川", "ishikawa"),
    ("山下", "yamashita"),
    ("中島", "nakajima"),
    ("石井", "ishii"),
    ("小川", "ogawa"),
    ("前田", "maeda"),
    ("岡田", "okada"),
    ("長谷川", "hasegawa"),
    ("藤田", "fujita"),
    ("後藤", "goto"),
    ("近藤", "kondo"),
    ("村上", "murakami"),
    ("遠藤", "endo"),
    ("青木", "aoki"),
    ("坂本", "sakamoto"),
    ("西村", "nishimura"),
    ("福田", "fukuda"),
    ("太田", "ota"),
    ("三浦", "miura"),
    ("藤井", "fujii"),
    ("岡本", "okamoto"),
    ("松田", "matsuda"),
    ("中川", "nakagawa"),
    ("中野", "nakano"),
    ("原田", "harada"),
)
_JP_FAMILY_CUM = tuple(accumulate(1.0 / (rank + 3) ** 0.7 for rank in range(len(_JP_FAMILY))))
_JP_GIVEN: tuple[tuple[str, str], ...] = (
    ("健太", "kenta"),
    ("翔太", "shota"),
    ("大輔", "daisuke"),
    ("拓也", "takuya"),
    ("直樹", "naoki"),
    ("誠", "makoto"),
    ("浩", "hiroshi"),
    ("隆", "takashi"),
    ("健一", "kenichi"),
    ("和也", "kazuya"),
    ("亮", "ryo"),
    ("悠斗", "yuto"),
    ("大樹", "daiki"),
    ("達也", "tatsuya"),
    ("雄一", "yuichi"),
    ("剛", "tsuyoshi"),
    ("智之", "tomoyuki"),
    ("修", "osamu"),
    ("哲也", "tetsuya"),
    ("秀樹", "hideki"),
    ("陽子", "yoko"),
    ("恵", "megumi"),
    ("美穂", "miho"),
    ("愛", "ai"),
    ("由美", "yumi"),
    ("彩", "aya"),
    ("真由美", "mayumi"),
    ("香織", "kaori"),
    ("麻衣", "mai"),
    ("智子", "tomoko"),
    ("優子", "yuko"),
    ("さくら", "sakura"),
    ("美咲", "misaki"),
    ("直美", "naomi"),
    ("沙織", "saori"),
    ("明美", "akemi"),
    ("千尋", "chihiro"),
    ("遥", "haruka"),
    ("舞", "mai"),
    ("里美", "satomi"),
)
_FOREIGN_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "EN": (
        (
            "James",
            "Emily",
            "Michael",
            "Sarah",
            "David",
            "Jessica",
            "Daniel",
            "Laura",
            "Robert",
            "Olivia",
            "Chris",
            "Hannah",
            "Matthew",
            "Rachel",
            "Andrew",
            "Sophie",
            "Thomas",
            "Grace",
        ),
        (
            "Smith",
            "Johnson",
            "Brown",
            "Taylor",
            "Miller",
            "Wilson",
            "Davis",
            "Clark",
            "Walker",
            "Hall",
            "Young",
            "Allen",
            "Wright",
            "Scott",
            "Green",
            "Baker",
            "O'Brien",
            "Evans",
        ),
    ),
    "DE": (
        ("Lukas", "Anna", "Jonas", "Lena", "Felix", "Julia", "Maximilian", "Laura", "Jürgen", "Katrin"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Wagner", "Hoffmann", "Schäfer", "Koch"),
    ),
    "SG": (
        ("Wei Ling", "Jun Jie", "Priya", "Muhammad", "Mei", "Daniel", "Hui Min", "Ravi"),
        ("Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Nair"),
    ),
    "TW": (
        ("Yi-Chen", "Chia-Hao", "Shu-Fen", "Chih-Wei", "Ya-Ting", "Po-Han", "Hsin-Yi", "Kuan-Lin"),
        ("Chen", "Lin", "Huang", "Chang", "Wang", "Lee", "Wu", "Tsai"),
    ),
    "KR": (
        ("Min-jun", "Seo-yeon", "Ji-hoon", "Su-bin", "Hyun-woo", "Ji-woo", "Do-yoon", "Ha-eun"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
    ),
    "BR": (
        ("Lucas", "Ana", "Gabriel", "Mariana", "Rafael", "Juliana", "João", "Beatriz"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Lima", "Gonçalves"),
    ),
    "IN": (
        ("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Neha", "Arjun", "Kavya"),
        ("Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair"),
    ),
    "FR": (
        ("Louis", "Camille", "Hugo", "Léa", "Julien", "Chloé", "Thomas", "Manon"),
        ("Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent", "Girard"),
    ),
}
_NAME_SET_BY_COUNTRY = {"US": "EN", "GB": "EN", "AU": "EN"}

_SENIORITIES: tuple[str | None, ...] = ("executive", "director", "manager", "staff", None)
_SENIORITY_CUM = tuple(accumulate((8, 15, 30, 42, 5)))
# seniority -> (title, department, weight)
_JP_TITLES: dict[str | None, tuple[tuple[str | None, str, float], ...]] = {
    "executive": (
        ("代表取締役社長", "management", 1),
        ("取締役", "management", 2),
        ("常務取締役", "management", 1),
        ("執行役員 CIO", "it", 1),
        ("CIO", "it", 1),
        ("CTO", "engineering", 1),
        ("取締役 営業本部長", "sales", 1),
        ("執行役員 マーケティング担当", "marketing", 1),
        ("CFO", "finance", 0.5),
    ),
    "director": (
        ("情報システム部 部長", "it", 3),
        ("営業部 部長", "sales", 3),
        ("マーケティング部 部長", "marketing", 2),
        ("経営企画部 部長", "management", 2),
        ("経理部 部長", "finance", 1),
        ("人事部 部長", "hr", 1),
        ("開発本部 本部長", "engineering", 1),
        ("製造部 部長", "other", 1),
        ("DX推進室 室長", "it", 1),
    ),
    "manager": (
        ("情報システム部 課長", "it", 3),
        ("情報システム部 マネージャー", "it", 2),
        ("営業部 課長", "sales", 3),
        ("営業企画課 課長", "sales", 1),
        ("マーケティング部 マネージャー", "marketing", 2),
        ("マーケティング課 課長", "marketing", 1),
        ("経営企画部 課長", "management", 1),
        ("経理課 課長", "finance", 1),
        ("人事課 課長", "hr", 1),
        ("開発部 課長", "engineering", 1),
        ("総務部 課長", "other", 1),
    ),
    "staff": (
        ("情報システム部 主任", "it", 2),
        ("情報システム部 担当", "it", 3),
        ("営業部 係長", "sales", 1),
        ("営業担当", "sales", 3),
        ("インサイドセールス", "sales", 1),
        ("マーケティング部 担当", "marketing", 2),
        ("マーケティング部 主任", "marketing", 1),
        ("経理担当", "finance", 1),
        ("人事部 採用担当", "hr", 1),
        ("エンジニア", "engineering", 2),
        ("総務部 担当", "other", 2),
        ("製造部 主任", "other", 1),
    ),
    None: ((None, "other", 2), ("会社員", "other", 1), ("担当者", "other", 1)),
}
_EN_TITLES: dict[str | None, tuple[tuple[str | None, str, float], ...]] = {
    "executive": (
        ("CEO", "management", 1),
        ("CIO", "it", 1),
        ("CTO", "engineering", 1),
        ("CFO", "finance", 0.5),
        ("VP Marketing", "marketing", 1),
        ("VP Sales", "sales", 1),
        ("Managing Director", "management", 1),
    ),
    "director": (
        ("Director of IT", "it", 2),
        ("Marketing Director", "marketing", 2),
        ("Head of Sales", "sales", 2),
        ("Finance Director", "finance", 1),
        ("HR Director", "hr", 1),
        ("Engineering Director", "engineering", 1),
        ("Head of Operations", "other", 1),
    ),
    "manager": (
        ("IT Manager", "it", 3),
        ("Marketing Manager", "marketing", 2),
        ("Sales Manager", "sales", 3),
        ("Finance Manager", "finance", 1),
        ("HR Manager", "hr", 1),
        ("Engineering Manager", "engineering", 1),
        ("Operations Manager", "other", 1),
        ("Business Development Manager", "sales", 1),
    ),
    "staff": (
        ("Systems Administrator", "it", 2),
        ("IT Specialist", "it", 2),
        ("Sales Representative", "sales", 3),
        ("Marketing Specialist", "marketing", 2),
        ("Accountant", "finance", 1),
        ("HR Coordinator", "hr", 1),
        ("Software Engineer", "engineering", 2),
        ("Operations Associate", "other", 1),
    ),
    None: ((None, "other", 2), ("Consultant", "other", 1), ("Employee", "other", 1)),
}
_JP_STUDENT_TITLES = ("学生", "大学院生", "工学部 学生", "経営学部 学生")
_EN_STUDENT_TITLES = ("Student", "Graduate Student", "PhD Student")

_JP_EMAIL_PATTERNS = ("{f}.{last}", "{first}.{last}", "{last}.{first}", "{last}-{f}", "{last}{f}")
_JP_EMAIL_CUM = tuple(accumulate((4, 3, 2, 1, 1)))
_EN_EMAIL_PATTERNS = ("{first}.{last}", "{f}{last}", "{first}", "{first}{l}")
_EN_EMAIL_CUM = tuple(accumulate((5, 3, 1, 1)))

_OFF_DAYS = frozenset(
    {
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 11),
        (2, 23),
        (4, 29),
        (5, 3),
        (5, 4),
        (5, 5),
        (8, 13),
        (8, 14),
        (8, 15),
        (8, 16),
        (11, 3),
        (11, 23),
        (12, 29),
        (12, 30),
        (12, 31),
    }
)
_HOURS = tuple(range(6, 24))
_HOUR_CUM = tuple(accumulate((0.3, 1, 3, 8, 10, 10, 5, 9, 10, 10, 9, 7, 4, 2, 1, 1, 0.5, 0.3)))

# code-suffix, Japanese name, product
_WEBINARS: tuple[tuple[str, str, str | None], ...] = (
    ("lead-scoring", "はじめてのリードスコアリング：MQLの定義と営業連携", None),
    ("analytics", "営業データ分析ダッシュボード実演セミナー", "analytics"),
    ("crm", "CRM定着化のための5つのステップ", "crm"),
    ("case-study", "導入事例：製造業のインサイドセールス立ち上げ", None),
)
_WEBINAR_AGO = (0.85, 0.57, 0.30, 0.10)  # fraction of the key horizon
# code, name, product, document key
_DOCUMENTS: tuple[tuple[str, str, str | None, str], ...] = (
    ("doc-ma-guide", "MA導入完全ガイド（ホワイトペーパー）", None, "ma-guide"),
    ("doc-analytics-whitepaper", "営業分析ダッシュボード活用ホワイトペーパー", "analytics", "analytics-whitepaper"),
    ("doc-crm-checklist", "CRM選定チェックリスト（資料）", "crm", "crm-checklist"),
)
# page kind -> ((url, product), ...)
_PAGES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "pricing": (("/pricing", None), ("/products/analytics/pricing", "analytics"), ("/products/crm/pricing", "crm")),
    "case_study": (
        ("/case-studies/manufacturing-dx", None),
        ("/case-studies/logistics-visibility", "analytics"),
        ("/case-studies/retail-crm", "crm"),
    ),
    "service": (("/services/ma-consulting", None), ("/products/analytics", "analytics"), ("/products/crm", "crm")),
    "careers": (("/careers", None), ("/careers/mid-career", None)),
    "blog": (("/blog/what-is-mql", None), ("/blog/inside-sales-kpi", None), ("/blog/webinar-tips", None)),
}
_AD_KEYWORDS = (
    "MA ツール 比較",
    "リードナーチャリング",
    "インサイドセールス 立ち上げ",
    "営業 分析 ダッシュボード",
    "CRM 導入",
)
_IS_CALLERS = ("is-kimura", "is-hayashi", "is-mori", "is-ogawa")
_HQ_REPS = ("rep-tanaka", "rep-suzuki", "rep-takahashi", "rep-watanabe")
_OSAKA_REPS = ("rep-nishimura", "rep-okada")
_LIST_VENDORS = ("bizdb", "listfinder", "company-data-pro")

# Campaign channel -> lead source channel (first touch).
_SOURCE_BY_CHANNEL = {
    "trade_show": "trade_show",
    "webinar": "webinar",
    "document": "document",
    "web_form": "web_form",
    "ads": "ads",
    "email": "web_form",
    "web": "web_form",
    "inside_sales": "bdr",
}


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def generate(
    seed: int = 7,
    *,
    now: datetime,
    companies: int = 300,
    people: int = 3000,
    days: int = 90,
) -> DemoData:
    """A synthetic data set, a pure function of its arguments.

    ``now`` must be timezone-aware; every activity happens strictly before it and within the
    last ``days`` days, in Asia/Tokyo time, mostly in Japanese business hours.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(ZoneInfo('Asia/Tokyo')))")
    if companies < MIN_COMPANIES:
        raise ValueError(f"companies must be at least {MIN_COMPANIES}, got {companies}")
    if people < MIN_PEOPLE:
        raise ValueError(f"people must be at least {MIN_PEOPLE}, got {people}")
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}, got {days}")
    # "The last N days" measured both as elapsed time and on the caller's wall clock (they differ
    # by an hour across a daylight-saving change); the later start satisfies both readings.
    start = max(now - timedelta(days=days), now.astimezone(TOKYO) - timedelta(days=days))
    return _Builder(
        random.Random(seed), now.astimezone(TOKYO), start.astimezone(TOKYO), companies, people, days
    ).build()


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


def _pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """Like ``rng.choices(items, cum_weights=cum)[0]``, without its per-call overhead."""
    return items[bisect_right(cum, rng.random() * cum[-1], 0, len(cum) - 1)]


@lru_cache(maxsize=64)
def _cumulative(items: tuple[tuple[Any, ...], ...]) -> tuple[float, ...]:
    return tuple(accumulate(item[-1] for item in items))


def _pick_weighted(rng: random.Random, items: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """Pick from a table of tuples whose last element is the weight."""
    return _pick(rng, items, _cumulative(items))


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum()).lower()


def _off_day(d: date) -> bool:
    return d.weekday() >= 5 or (d.month, d.day) in _OFF_DAYS


@dataclass(slots=True)
class _Org:
    record: dict[str, Any]
    pool: str  # competitor, unserved, education, normal
    capacity: int
    weight: float
    pattern: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class _Webinar:
    code: str
    product: str | None
    start: datetime


@dataclass(frozen=True, slots=True)
class _TradeShow:
    code: str
    days: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class _Doc:
    code: str
    product: str | None
    key: str


class _Builder:
    def __init__(
        self, rng: random.Random, now: datetime, start: datetime, n_companies: int, n_people: int, days: int
    ) -> None:
        self.rng = rng
        self.now = now
        self.n_companies = n_companies
        self.n_people = n_people
        self.days = days
        self.lo = start + timedelta(minutes=1)
        self.hi = now - timedelta(minutes=1)
        self.horizon = min(days, KEY_HORIZON_DAYS)
        self.key_lo = max(self.lo, now - timedelta(days=self.horizon))
        self.orgs: list[_Org] = []
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.raw: list[tuple[datetime, int, dict[str, Any]]] = []
        self.first_touch: dict[str, tuple[datetime, str]] = {}
        self.campaigns: list[dict[str, Any]] = []
        self.channel_of: dict[str, str] = {}
        self.house_bant: set[str] = set()

    # ---- time ---------------------------------------------------------------------------

    def clamp(self, t: datetime) -> datetime:
        return min(max(t, self.lo), self.hi)

    def work_time(self, a: datetime | None = None, b: datetime | None = None) -> datetime:
        """A time in [a, b] (clipped to the window), mostly on a Japanese working day, 9-18h."""
        a = self.lo if a is None else max(a, self.lo)
        b = self.hi if b is None else min(b, self.hi)
        if b <= a:
            return min(a, self.hi)
        rng = self.rng
        first_day = a.date()
        span = (b.date() - first_day).days
        for _ in range(8):
            d = first_day + timedelta(days=rng.randint(0, span))
            if _off_day(d) and rng.random() < 0.9:
                continue
            hour = _pick(rng, _HOURS, _HOUR_CUM)
            seconds = int(rng.random() * 3600)
            t = datetime.combine(d, time(hour, seconds // 60, seconds % 60), tzinfo=TOKYO)
            if a <= t <= b:
                return t
        return a + (b - a) * rng.random()

    def soon_after(self, t: datetime, max_minutes: float, min_minutes: float = 1.0) -> datetime:
        return self.clamp(t + timedelta(minutes=self.rng.uniform(min_minutes, max_minutes)))

    def event_day(self, days_ago: float, weekdays: tuple[int, ...], start: time, hours: float) -> date:
        """A working day about ``days_ago`` back whose event (``start`` + ``hours``) fits the window."""
        base = (self.now - timedelta(days=days_ago)).date()
        candidates = [base - timedelta(days=k) for k in range(21)] + [base + timedelta(days=k) for k in range(1, 21)]

        def fits(d: date) -> bool:
            begin = datetime.combine(d, start, tzinfo=TOKYO)
            return begin > self.lo + timedelta(hours=1) and begin + timedelta(hours=hours + 1) < self.hi

        for d in candidates:
            if d.weekday() in weekdays and not _off_day(d) and fits(d):
                return d
        for d in candidates:
            if fits(d):
                return d
        return (self.hi - timedelta(hours=hours + 2)).date()

    # ---- records ------------------------------------------------------------------------

    def add(
        self, email: str, type_: str, t: datetime, campaign: str, product: str | None = None, **properties: Any
    ) -> datetime:
        t = self.clamp(t.replace(microsecond=0))
        record = {
            "email": email,
            "type": type_,
            "occurred_at": t,
            "campaign": campaign,
            "product": product,
            "properties": properties,
        }
        self.raw.append((t, len(self.raw), record))
        first = self.first_touch.get(email)
        if first is None or t < first[0]:
            self.first_touch[email] = (t, self.channel_of[campaign])
        return t

    def campaign(self, code: str, name: str, channel: str, kind: str) -> str:
        self.campaigns.append({"code": code, "name": name, "channel": channel, "kind": kind})
        self.channel_of[code] = channel
        return code

    # ---- build --------------------------------------------------------------------------

    def build(self) -> DemoData:
        self.make_campaigns()
        self.make_accounts()
        leads, truth = self.make_people()
        activities, duplicates = self.finish_activities()
        accounts = [org.record for org in self.orgs]
        return DemoData(
            accounts=accounts,
            campaigns=self.campaigns,
            leads=leads,
            activities=activities,
            truth=truth,
            duplicates=duplicates,
        )

    def make_campaigns(self) -> None:
        rng, h = self.rng, self.horizon
        # Trade shows: the big Tokyo one (Wed-Fri) and a Kansai one (Thu-Fri).
        last = self.event_day(0.62 * h, (4,), time(10), 8)
        main_days = tuple(d for d in (last - timedelta(days=2), last - timedelta(days=1)) if self.day_fits(d)) + (last,)
        year = main_days[0].year
        self.trade_shows = [
            _TradeShow(
                self.campaign(
                    f"ts-{year}-dx-expo", f"DX総合展 {year}（東京ビッグサイト）", "trade_show", "acquisition"
                ),
                main_days,
            ),
        ]
        last = self.event_day(0.36 * h, (4,), time(10), 8)
        osaka_days = tuple(d for d in (last - timedelta(days=1),) if self.day_fits(d)) + (last,)
        year = osaka_days[0].year
        self.trade_shows.append(
            _TradeShow(
                self.campaign(
                    f"ts-{year}-kansai-dx", f"関西DX EXPO {year}（インテックス大阪）", "trade_show", "acquisition"
                ),
                osaka_days,
            )
        )
        # Webinars, each its own campaign.
        self.webinars: list[_Webinar] = []
        for (slug, name, product), ago in zip(_WEBINARS, _WEBINAR_AGO, strict=True):
            start_time = time(rng.choice((11, 14, 16)))
            d = self.event_day(ago * h, (1, 2, 3), start_time, 2)
            code = self.campaign(f"wb-{d:%Y-%m}-{slug}", f"【ウェビナー】{name}", "webinar", "acquisition")
            self.webinars.append(_Webinar(code, product, datetime.combine(d, start_time, tzinfo=TOKYO)))
        self.docs = [
            _Doc(self.campaign(code, name, "document", "acquisition"), product, key)
            for code, name, product, key in _DOCUMENTS
        ]
        year = self.now.year
        self.ads = [
            self.campaign(f"ads-{year}-search", "リスティング広告（検索連動型）", "ads", "acquisition"),
            self.campaign(f"ads-{year}-social", "SNS広告（Facebook・LinkedIn）", "ads", "acquisition"),
        ]
        self.newsletter = self.campaign("nl-biweekly", "メールマガジン（隔週配信）", "email", "nurture")
        self.website = self.campaign("web-site", "自社Webサイト", "web", "nurture")
        self.contact_form = self.campaign("web-contact", "お問い合わせ・デモ依頼フォーム", "web_form", "pipeline")
        self.calls = self.campaign("is-outbound", "インサイドセールス架電", "inside_sales", "pipeline")
        # Newsletter sends: Tuesdays 10:00, every other week (weekly for short windows).
        step = timedelta(days=14 if self.days >= 28 else 7)
        d = (self.hi - timedelta(hours=6)).date()
        while d.weekday() != 1:
            d -= timedelta(days=1)
        send = datetime.combine(d, time(10), tzinfo=TOKYO)
        self.sends: list[datetime] = []
        while send > self.lo:
            self.sends.append(send)
            send -= step
        self.sends.reverse()
        if not self.sends:  # pragma: no cover - days >= 7 always has a Tuesday
            self.sends.append(self.lo + (self.hi - self.lo) / 2)

    def day_fits(self, d: date) -> bool:
        return (
            datetime.combine(d, time(10), tzinfo=TOKYO) > self.lo
            and datetime.combine(d, time(18), tzinfo=TOKYO) < self.hi
        )

    # ---- accounts -----------------------------------------------------------------------

    def employees(self) -> int:
        raw = math.exp(self.rng.triangular(math.log(10), math.log(20000), math.log(60)))
        if raw < 100:
            return max(10, round(raw))
        digits: int = 10 ** (int(math.log10(raw)) - 1)
        return min(20000, round(raw / digits) * digits)

    def add_org(self, record: dict[str, Any], pool: str, pattern: str) -> _Org:
        employees = record["employees"]
        capacity = max(2, min(_MAX_PEOPLE_PER_COMPANY, round(employees**0.45)))
        org = _Org(record, pool, capacity, employees**0.4, pattern)
        self.orgs.append(org)
        self.domains.add(record["domain"])
        return org

    def make_accounts(self) -> None:
        rng = self.rng
        competitors = (
            ("rival-ma.co.jp", "株式会社ライバルMA", "software", 180, "JP", "東京都"),
            ("competitor-crm.com", "Competitor CRM Inc.", "software", 850, "US", None),
            ("leadforge.io", "LeadForge Ltd", "software", 95, "GB", None),
        )
        for domain, name, industry, employees, country, pref in competitors:
            region = _PREF_BY_NAME[pref][1] if pref else _FOREIGN[country][3]
            record = self.account_record(domain, name, industry, employees, country, region, pref)
            self.add_org(record, "competitor", "{first}.{last}").capacity = _MAX_PEOPLE_PER_COMPANY
        n_unserved = max(1, round(self.n_companies * 0.03))
        n_education = max(2, round(self.n_companies * 0.04))
        for _ in range(n_unserved):
            country = rng.choice(UNSERVED_COUNTRIES)
            industry = _pick_weighted(rng, _FOREIGN_INDUSTRIES)[0]
            self.foreign_account(country, industry, "unserved")
        for _ in range(n_education):
            if rng.random() < 0.8:
                self.jp_account("education", "education")
            else:
                self.foreign_account(_pick(rng, _SERVED_FOREIGN, _SERVED_FOREIGN_CUM), "education", "education")
        jp_industries = _JP_INDUSTRIES
        foreign_industries = _FOREIGN_INDUSTRIES
        while len(self.orgs) < self.n_companies:
            if rng.random() < 0.85:
                self.jp_account(_pick_weighted(rng, jp_industries)[0], "normal")
            else:
                country = _pick(rng, _SERVED_FOREIGN, _SERVED_FOREIGN_CUM)
                self.foreign_account(country, _pick_weighted(rng, foreign_industries)[0], "normal")
        self.assign_tiers()
        rng.shuffle(self.orgs)

    def account_record(
        self, domain: str, name: str, industry: str, employees: int, country: str, region: str, prefecture: str | None
    ) -> dict[str, Any]:
        return {
            "domain": domain,
            "name": name,
            "industry": industry,
            "employees": employees,
            "country": country,
            "region": region,
            "prefecture": prefecture,
            "tier": None,
            "owner": None,
            "reading": None,
            "phone": None,
            "postal_code": None,
            "website": None,
        }

    def unique_domain(self, domain: str) -> str:
        if domain not in self.domains:
            return domain
        label, _, rest = domain.partition(".")
        n = 2
        while f"{label}{n}.{rest}" in self.domains:
            n += 1
        return f"{label}{n}.{rest}"

    def jp_account(self, industry: str, pool: str) -> None:
        rng = self.rng
        pref_name = _pick(rng, _PREF_NAMES, _PREF_CUM)
        region = _PREF_BY_NAME[pref_name][1]
        for _ in range(30):
            stems = _REGION_STEMS.get(region, ())
            stem, roma = rng.choice(stems) if stems and rng.random() < 0.3 else rng.choice(_JP_STEMS)
            suffix, suffix_roma = rng.choice(_JP_SUFFIXES[industry])
            if suffix == "大学":
                name, domain = f"{stem}大学", f"{roma}-u.ac.jp"
            elif suffix == "学園":
                name, domain = f"学校法人{stem}学園", f"{roma}-gakuen.ac.jp"
            elif suffix == "市役所":
                name, domain = f"{stem}市役所", f"city.{roma}.lg.jp"
            elif suffix == "信用金庫":
                name, domain = f"{stem}信用金庫", f"{roma}-shinkin.co.jp"
            else:
                name = f"株式会社{stem}{suffix}" if rng.random() < 0.5 else f"{stem}{suffix}株式会社"
                tld = _pick(rng, (".co.jp", ".jp", ".com"), (80, 95, 100))
                domain = f"{roma}-{suffix_roma}{tld}"
            if domain not in self.domains:
                break
        domain = self.unique_domain(domain)
        record = self.account_record(domain, name, industry, self.employees(), "JP", region, pref_name)
        pattern = _pick(rng, _JP_EMAIL_PATTERNS, _JP_EMAIL_CUM)
        self.add_org(record, pool, pattern)

    def foreign_account(self, country: str, industry: str, pool: str) -> None:
        rng = self.rng
        legal, tld, university, region, _ = _FOREIGN[country]
        for _ in range(30):
            stem = rng.choice(_FOREIGN_STEMS)
            suffix = rng.choice(_FOREIGN_SUFFIXES[industry])
            if industry == "education":
                name = f"{stem} {suffix}"
                domain = university.format(s=stem.lower())
            else:
                name = f"{stem} {suffix} {legal}"
                joiner = "-" if rng.random() < 0.3 else ""
                domain = f"{stem.lower()}{joiner}{_ascii(suffix)}{tld}"
            if domain not in self.domains:
                break
        domain = self.unique_domain(domain)
        record = self.account_record(domain, name, industry, self.employees(), country, region, None)
        self.add_org(record, pool, _pick(rng, _EN_EMAIL_PATTERNS, _EN_EMAIL_CUM))

    def assign_tiers(self) -> None:
        rng = self.rng
        n_named = max(1, round(self.n_companies * 0.02))
        n_target = max(1, round(self.n_companies * 0.03))
        candidates = [o for o in self.orgs if o.pool == "normal" and o.record["industry"] in TARGET_INDUSTRIES]
        candidates.sort(key=lambda o: (-o.record["employees"], o.record["domain"]))
        pool = candidates[: max(3 * (n_named + n_target), 1)]
        chosen = rng.sample(pool, min(len(pool), n_named + n_target))
        for i, org in enumerate(chosen):
            rec = org.record
            if i < n_named:
                rec["tier"] = "named"
                reps = _OSAKA_REPS if rec["region"] == "kinki" else _HQ_REPS
                rec["owner"] = rng.choice(reps)
            else:
                rec["tier"] = "target"
            org.weight *= 2.5
            org.capacity = _MAX_PEOPLE_PER_COMPANY

    # ---- people -------------------------------------------------------------------------

    def persona_list(self) -> list[str]:
        n = self.n_people
        exact = {p: share * n for p, share in PERSONA_SHARES.items()}
        counts = {p: int(v) for p, v in exact.items()}
        order = sorted(PERSONAS, key=lambda p: (-(exact[p] - counts[p]), PERSONAS.index(p)))
        for p in order[: n - sum(counts.values())]:
            counts[p] += 1
        for p in PERSONAS:
            if counts[p] == 0:
                donor = max(PERSONAS, key=lambda q: counts[q])
                counts[donor] -= 1
                counts[p] = 1
        personas = [p for p in PERSONAS for _ in range(counts[p])]
        self.rng.shuffle(personas)
        return personas

    def make_people(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        pools: dict[str, list[_Org]] = {
            "competitor": [o for o in self.orgs if o.pool == "competitor"],
            "unserved": [o for o in self.orgs if o.pool == "unserved"],
            "student": [o for o in self.orgs if o.pool == "education"],
            "strong": [o for o in self.orgs if o.pool == "normal" and o.record["industry"] in TARGET_INDUSTRIES],
            "general": [o for o in self.orgs if o.pool in ("normal", "education")],
        }
        if not pools["strong"]:  # pragma: no cover - only with tiny, unlucky company counts
            pools["strong"] = pools["general"]
        cums = {name: tuple(accumulate(o.weight for o in orgs)) for name, orgs in pools.items()}
        leads: list[dict[str, Any]] = []
        truth: dict[str, str] = {}
        for persona in self.persona_list():
            if persona == "free_mail":
                org = None
            else:
                pool = {"competitor": "competitor", "unserved_country": "unserved", "student": "student"}.get(
                    persona, "strong" if persona in _STRONG_PERSONAS else "general"
                )
                org = self.pick_org(pools[pool], cums[pool])
            lead = self.make_lead(persona, org)
            leads.append(lead)
            truth[lead["email"]] = persona
            self.behave(persona, lead)
            self.set_source(persona, lead)
        return leads, truth

    def pick_org(self, orgs: list[_Org], cum: tuple[float, ...]) -> _Org:
        for _ in range(8):
            org = _pick(self.rng, orgs, cum)
            if org.count < org.capacity:
                break
        else:
            org = min(orgs, key=lambda o: (o.count / o.capacity, o.count))
        org.count += 1
        return org

    def jp_location(self, pref_name: str) -> tuple[str, str]:
        """Postal code and landline area code for an address in ``pref_name``."""
        rng = self.rng
        _, _, _, ranges, main_code, outer_code = _PREF_BY_NAME[pref_name]
        lo, hi = ranges[0] if len(ranges) == 1 or rng.random() < 0.7 else ranges[1]
        prefix = rng.randint(lo, hi)
        postal = f"{prefix:03d}-{rng.randrange(90):02d}{rng.randrange(100):02d}"
        main_lo, main_hi = ranges[0]
        return postal, main_code if main_lo <= prefix <= main_hi else outer_code

    def jp_phone(self, area: str | None) -> str:
        rng = self.rng
        if area is None:
            return f"{rng.choice(('090', '080', '070'))}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
        local = 10 - len(area)
        exchange = rng.randint(2 * 10 ** (local - 5), 10 ** (local - 4) - 1)
        return f"{area}-{exchange}-{rng.randint(0, 9999):04d}"

    def foreign_phone(self, country: str) -> str:
        rng = self.rng
        if country == "US":
            return f"+1 {rng.choice(('212', '415', '312', '206', '617'))}-555-01{rng.randint(0, 99):02d}"
        if country == "GB":
            return f"+44 20 7946 0{rng.randint(0, 999):03d}"
        digits = "".join(str(rng.randrange(10)) for _ in range(8))
        return _FOREIGN_PHONES[country].format(*digits)

    def claim_email(self, candidates: list[str], domain: str) -> str:
        for local in candidates:
            email = f"{local}@{domain}"
            if local and email not in self.emails:
                self.emails.add(email)
                return email
        base = candidates[0] or "info"
        n = 2
        while f"{base}{n}@{domain}" in self.emails:
            n += 1
        email = f"{base}{n}@{domain}"
        self.emails.add(email)
        return email

    def make_lead(self, persona: str, org: _Org | None) -> dict[str, Any]:
        rng = self.rng
        if org is None:
            country = "JP" if rng.random() < 0.85 else rng.choice(("US", "GB", "SG", "AU"))
        else:
            country = org.record["country"]
        japanese = country == "JP"
        if japanese:
            last_name, last = _pick(rng, _JP_FAMILY, _JP_FAMILY_CUM)
            first_name, first = rng.choice(_JP_GIVEN)
        else:
            firsts, lasts = _FOREIGN_NAMES[_NAME_SET_BY_COUNTRY.get(country, country)]
            first_name, last_name = rng.choice(firsts), rng.choice(lasts)
            first, last = _ascii(first_name), _ascii(last_name)
        # Title, seniority, department.
        seniority: str | None
        if persona == "student":
            title: str | None = rng.choice(_JP_STUDENT_TITLES if japanese else _EN_STUDENT_TITLES)
            seniority, department = "student", "other"
        else:
            seniority = _pick(rng, _SENIORITIES, _SENIORITY_CUM)
            title, department, _ = _pick_weighted(rng, (_JP_TITLES if japanese else _EN_TITLES)[seniority])
        # Address and phone.
        prefecture = postal = None
        if japanese:
            if org is not None and rng.random() < 0.8:
                prefecture = org.record["prefecture"]
            else:
                prefecture = _pick(rng, _PREF_NAMES, _PREF_CUM)
            postal, area = self.jp_location(prefecture)
            mobile = rng.random() < (0.8 if org is None or persona == "student" else 0.15)
            phone = self.jp_phone(None if mobile else area)
        else:
            phone = self.foreign_phone(country)
        # E-mail.
        values = {"first": first, "last": last, "f": first[:1], "l": last[:1]}
        if org is None:
            domain = rng.choice(FREE_MAIL_DOMAINS)
            yy = rng.randint(60, 99)
            candidates = [f"{first}.{last}{yy}", f"{last}_{first}{rng.randint(1, 999)}", f"{first}{last}{yy}"]
        elif persona == "student" and japanese and rng.random() < 0.6:
            domain = org.record["domain"]
            candidates = [f"s{rng.randint(20, 25)}{rng.randint(0, 99999):05d}"]
        else:
            domain = org.record["domain"]
            patterns = [org.pattern, *(_JP_EMAIL_PATTERNS if japanese else _EN_EMAIL_PATTERNS)]
            candidates = [p.format(**values) for p in patterns]
        email = self.claim_email(candidates, domain)
        # Custom fields.
        custom: dict[str, Any] = {}
        if persona == "job_seeker":
            custom["inquiry_type"] = "recruiting"
        return {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "title": title,
            "seniority": seniority,
            "department": department,
            "phone": phone,
            "country": country,
            "prefecture": prefecture,
            "postal_code": postal,
            "source_channel": None,
            "company_name": None,  # the account's name comes with the company record (company_domain)
            "list_source": "house",
            "custom": custom,
            "company_domain": None if org is None else org.record["domain"],
        }

    def set_source(self, persona: str, lead: dict[str, Any]) -> None:
        rng = self.rng
        if persona == "bant" and lead["email"] not in self.house_bant:
            list_source = rng.choice(("purchased", "purchased", "bdr"))
        elif persona in DISQUALIFYING_PERSONAS or persona in ("trade_show_only", "booth_talk", "bant"):
            list_source = "purchased" if persona == "unserved_country" and rng.random() < 0.2 else "house"
        else:
            purchased, bdr = {
                "dormant": (0.5, 0.15),
                "light": (0.25, 0.05),
                "hand_raiser": (0.1, 0.0),
                "webinar_wants_contact": (0.1, 0.0),
            }.get(persona, (0.08, 0.0))
            roll = rng.random()
            list_source = "purchased" if roll < purchased else "bdr" if roll < purchased + bdr else "house"
        lead["list_source"] = list_source
        if list_source == "purchased":
            lead["source_channel"] = "purchased_list"
            lead["custom"]["list_vendor"] = rng.choice(_LIST_VENDORS)
        elif list_source == "bdr":
            lead["source_channel"] = "bdr"
        else:
            first = self.first_touch.get(lead["email"])
            if first is None:  # dormant: came in before the window
                lead["source_channel"] = rng.choice(("trade_show", "web_form", "webinar", "document"))
            else:
                lead["source_channel"] = _SOURCE_BY_CHANNEL[first[1]]

    # ---- behaviour ----------------------------------------------------------------------

    def behave(self, persona: str, lead: dict[str, Any]) -> None:
        getattr(self, f"act_{persona}")(lead)

    # building blocks

    def newsletter_opens(self, email: str, n: int, clicks: int = 0, after: datetime | None = None) -> None:
        rng = self.rng
        sends = [s for s in self.sends if after is None or s > after]
        for send in rng.sample(sends, min(n, len(sends))):
            opened = self.add(
                email,
                "email_opened",
                send + timedelta(minutes=rng.expovariate(1 / 400)),
                self.newsletter,
                kind="newsletter",
                issue=f"{send:%Y-%m-%d}",
            )
            if clicks > 0:
                clicks -= 1
                self.add(
                    email,
                    "email_clicked",
                    self.soon_after(opened, 5),
                    self.newsletter,
                    kind="newsletter",
                    url=rng.choice(_PAGES["blog"])[0],
                )

    def document(self, email: str, t: datetime | None = None, doc: _Doc | None = None, opened: bool = True) -> datetime:
        rng = self.rng
        doc = doc or rng.choice(self.docs)
        when = t or self.work_time(self.key_lo, self.hi - timedelta(hours=3))
        when = self.add(email, "document_downloaded", when, doc.code, doc.product, document=doc.key, form="whitepaper")
        if opened:
            if rng.random() < 0.6:
                open_at = self.soon_after(when, 30)
            else:
                open_at = self.work_time(when + timedelta(minutes=30), when + timedelta(days=3))
            self.add(email, "email_opened", open_at, doc.code, doc.product, kind="document_delivery", document=doc.key)
        return when

    def page(self, email: str, kind: str, t: datetime | None = None, product: str | None = "any") -> datetime:
        options = _PAGES[kind]
        if product != "any":
            options = tuple(o for o in options if o[1] == product) or options
        url, page_product = self.rng.choice(options)
        return self.add(
            email, "page_viewed", t or self.work_time(), self.website, page_product, page_kind=kind, url=url
        )

    def ad_click(self, email: str, t: datetime | None = None) -> datetime:
        rng = self.rng
        campaign = rng.choice(self.ads)
        network = (
            rng.choice(("google", "yahoo")) if campaign.endswith("search") else rng.choice(("facebook", "linkedin"))
        )
        return self.add(
            email, "ad_clicked", t or self.work_time(), campaign, network=network, keyword=rng.choice(_AD_KEYWORDS)
        )

    def webinar(self, email: str, w: _Webinar, attend: bool, survey: bool = False, wants_contact: bool = False) -> None:
        rng = self.rng
        registered = self.work_time(w.start - timedelta(days=21), w.start - timedelta(hours=1))
        if registered >= w.start:  # the window starts after registration opened
            registered = self.clamp(w.start - timedelta(minutes=rng.uniform(5, 60)))
        self.add(email, "webinar_registered", registered, w.code, w.product)
        end = w.start + timedelta(hours=1)
        if not attend:
            self.add(email, "webinar_no_show", end + timedelta(minutes=rng.uniform(1, 30)), w.code, w.product)
            return
        self.add(
            email,
            "webinar_attended",
            w.start + timedelta(minutes=rng.uniform(-5, 10)),
            w.code,
            w.product,
            minutes=rng.randint(20, 60),
        )
        if survey:
            self.add(
                email,
                "survey_answered",
                end + timedelta(minutes=rng.uniform(0, 40)),
                w.code,
                w.product,
                wants_contact=wants_contact,
                satisfaction=rng.randint(3 if wants_contact else 1, 5),
            )

    def trade_show(self, lead: dict[str, Any], booth: bool | None, before: datetime | None = None) -> datetime:
        """Visit a trade show; ``booth``: None no booth, False booth without a talk, True a detailed talk."""
        rng = self.rng
        shows = [
            s
            for s in self.trade_shows
            if before is None or datetime.combine(s.days[0], time(18), tzinfo=TOKYO) < before
        ] or self.trade_shows
        kinki = lead["prefecture"] in ("大阪府", "京都府", "兵庫県", "奈良県", "和歌山県", "滋賀県")
        if len(shows) > 1:
            show = shows[1] if rng.random() < (0.65 if kinki else 0.15) else shows[0]
        else:
            show = shows[0]
        if before is not None:
            days = [d for d in show.days if datetime.combine(d, time(18), tzinfo=TOKYO) < before] or list(show.days)
        else:
            days = list(show.days)
        day = rng.choice(days)
        visit = datetime.combine(day, time(10), tzinfo=TOKYO) + timedelta(minutes=rng.uniform(0, 390))
        visit = self.add(lead["email"], "trade_show_visited", visit, show.code, badge_scanned=True)
        if booth is not None:
            extra = {"staff": rng.choice(_HQ_REPS + _OSAKA_REPS)} if booth else {}
            self.add(
                lead["email"],
                "booth_visited",
                self.soon_after(visit, 90, 5),
                show.code,
                rng.choice((None, None, "analytics", "crm")),
                detailed_talk=booth,
                **extra,
            )
        return visit

    def hand_raise(self, email: str, t: datetime, kind: str) -> None:
        form = {"demo_requested": "demo", "contact_requested": "contact", "free_audit_requested": "free_audit"}[kind]
        inquiry = {"demo": "demo", "contact": "product", "free_audit": "audit"}[form]
        self.add(email, "form_submitted", t, self.contact_form, form=form, inquiry_type=inquiry)
        self.add(email, kind, t, self.contact_form, self.rng.choice((None, "analytics", "crm")), form=form)

    # personas

    def act_dormant(self, lead: dict[str, Any]) -> None:
        return

    def act_light(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.55:
                self.newsletter_opens(email, 1, clicks=1 if rng.random() < 0.3 else 0)
            elif roll < 0.75:
                self.ad_click(email)
            elif roll < 0.9:
                self.page(email, "blog")
            else:
                self.page(email, "service")
        if rng.random() < 0.06:
            self.add(email, "unsubscribed", self.work_time(), self.newsletter)

    def act_trade_show_only(self, lead: dict[str, Any]) -> None:
        visit = self.trade_show(lead, booth=None)
        self.newsletter_opens(lead["email"], self.rng.randint(0, 3), after=visit)

    def act_document_only(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        first = self.work_time(self.key_lo, self.hi - timedelta(hours=3))
        if rng.random() < 0.4:
            self.ad_click(email, first - timedelta(minutes=rng.uniform(1, 10)))
        docs = rng.sample(self.docs, rng.choice((1, 1, 2)))
        self.document(email, first, docs[0])
        for doc in docs[1:]:
            self.document(email, self.work_time(first, self.hi - timedelta(hours=3)), doc)
        self.newsletter_opens(email, rng.randint(0, 2))

    def act_webinar_attendee(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        webinars = rng.sample(self.webinars, rng.choice((1, 1, 2)))
        first = min(w.start for w in webinars)
        if rng.random() < 0.25:
            self.document(email, self.work_time(self.key_lo, first - timedelta(days=1)))
        if rng.random() < 0.2:
            self.trade_show(lead, booth=rng.choice((None, False)))
        for w in webinars:
            self.webinar(email, w, attend=True, survey=rng.random() < 0.5, wants_contact=False)

    def act_no_show(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        for w in rng.sample(self.webinars, rng.choice((1, 1, 1, 2))):
            self.webinar(email, w, attend=False)
        self.newsletter_opens(email, rng.randint(0, 2))

    def act_engaged(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        focus = rng.choice(("analytics", "analytics", "crm", None))
        docs = rng.sample(self.docs, rng.randint(2, 3))
        for doc in docs:
            self.document(email, doc=doc, opened=rng.random() < 0.85)
        for _ in range(rng.randint(4, 10)):
            kind = _pick(rng, ("service", "case_study", "pricing", "blog"), (4, 7, 8, 10))
            if kind == "pricing" and rng.random() < 0.5:
                continue
            self.page(email, kind, product=focus if kind != "blog" else "any")
        self.newsletter_opens(email, rng.randint(3, 8), clicks=rng.randint(1, 3))
        if rng.random() < 0.3:
            self.ad_click(email)

    def act_hand_raiser(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        kind = _pick(rng, HAND_RAISE_TYPES, (50, 85, 100))
        lead["custom"]["inquiry_type"] = {
            "demo_requested": "demo",
            "contact_requested": "product",
            "free_audit_requested": "audit",
        }[kind]
        when = self.work_time(self.key_lo + (self.hi - self.key_lo) / 3, self.hi)
        if rng.random() < 0.5:
            self.document(email, self.work_time(self.key_lo, when - timedelta(days=2)))
        if rng.random() < 0.4:
            self.newsletter_opens(email, rng.randint(1, 3))
        if rng.random() < 0.6:
            self.page(email, "pricing", when - timedelta(minutes=rng.uniform(2, 30)))
        self.hand_raise(email, when, kind)

    def act_webinar_wants_contact(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        w = rng.choice(self.webinars)
        if rng.random() < 0.4:
            self.trade_show(lead, booth=rng.choice((None, False)), before=w.start)
        if rng.random() < 0.5:
            self.document(email, self.work_time(self.key_lo, w.start - timedelta(days=2)))
        self.webinar(email, w, attend=True, survey=True, wants_contact=True)

    def act_booth_talk(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        visit = self.trade_show(lead, booth=True)
        if rng.random() < 0.5:
            self.document(email, self.work_time(visit + timedelta(days=1), self.hi - timedelta(hours=3)))
        self.newsletter_opens(email, rng.randint(0, 3), after=visit)

    def act_bant(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        recent = max(self.key_lo, self.now - timedelta(days=60))
        if rng.random() < 0.3:  # a house lead: came in through a document first
            self.house_bant.add(email)
            self.document(email, self.work_time(self.key_lo, recent))
        calls = rng.randint(1, 2)
        last = self.work_time(recent, self.hi - timedelta(hours=1))
        for i in range(calls - 1):
            earlier = self.work_time(recent, last - timedelta(days=3))
            self.add(
                email,
                "call_connected",
                earlier,
                self.calls,
                duration_seconds=rng.randint(60, 400),
                caller=rng.choice(_IS_CALLERS),
                attempt=i + 1,
            )
        self.add(
            email,
            "call_connected",
            last,
            self.calls,
            duration_seconds=rng.randint(600, 1800),
            caller=rng.choice(_IS_CALLERS),
            attempt=calls,
        )
        self.add(
            email,
            "bant_collected",
            self.soon_after(last, 30, 10),
            self.calls,
            rng.choice((None, "analytics", "crm")),
            budget=rng.choice(("approved", "planned")),
            authority=rng.choice(("decision_maker", "influencer")),
            need=rng.choice(("営業生産性の向上", "リード管理の一元化", "営業データの可視化")),
            timeline=rng.choice(("within_3_months", "within_6_months")),
        )

    def act_job_seeker(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        t = self.work_time(self.key_lo)
        for _ in range(rng.randint(1, 3)):
            t = self.page(email, "careers", self.soon_after(t, 600))
        when = self.soon_after(t, 120, 5)
        if rng.random() < 0.5:  # uses the sales contact form to ask about jobs
            self.add(email, "form_submitted", when, self.contact_form, form="contact", inquiry_type="recruiting")
            self.add(email, "contact_requested", when, self.contact_form, form="contact", inquiry_type="recruiting")
        else:
            self.add(email, "form_submitted", when, self.contact_form, form="contact", inquiry_type="recruiting")

    def act_competitor(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        for doc in rng.sample(self.docs, rng.randint(1, 3)):
            self.document(email, doc=doc)
        for w in rng.sample(self.webinars, rng.randint(0, 2)):
            self.webinar(email, w, attend=True, survey=rng.random() < 0.3)
        for _ in range(rng.randint(1, 3)):
            self.page(email, "pricing")
        if rng.random() < 0.25:
            self.hand_raise(email, self.work_time(self.key_lo), "demo_requested")

    def act_free_mail(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        roll = rng.random()
        if roll < 0.4:
            self.act_light(lead)
        elif roll < 0.65:
            self.document(email)
        elif roll < 0.85:
            self.webinar(email, rng.choice(self.webinars), attend=rng.random() < 0.6, survey=True)
        else:
            kind = rng.choice(("demo_requested", "contact_requested"))
            lead["custom"]["inquiry_type"] = "demo" if kind == "demo_requested" else "product"
            self.hand_raise(email, self.work_time(self.key_lo), kind)

    def act_student(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        did = False
        if rng.random() < 0.5:
            self.webinar(email, rng.choice(self.webinars), attend=rng.random() < 0.7, survey=rng.random() < 0.4)
            did = True
        if rng.random() < 0.5 or not did:
            self.document(email, opened=rng.random() < 0.5)
        if rng.random() < 0.3:
            self.page(email, "careers")

    def act_unserved_country(self, lead: dict[str, Any]) -> None:
        rng, email = self.rng, lead["email"]
        did = False
        if rng.random() < 0.5:
            self.document(email)
            did = True
        if rng.random() < 0.4:
            self.webinar(email, rng.choice(self.webinars), attend=True, survey=rng.random() < 0.5)
            did = True
        if rng.random() < 0.2:
            lead["custom"]["inquiry_type"] = "product"
            self.hand_raise(email, self.work_time(self.key_lo), "contact_requested")
            did = True
        self.newsletter_opens(email, rng.randint(0 if did else 1, 2))

    # ---- activities ---------------------------------------------------------------------

    def finish_activities(self) -> tuple[list[dict[str, Any]], int]:
        rng = self.rng
        self.raw.sort(key=lambda item: (item[0], item[1]))
        width = max(6, len(str(len(self.raw))))
        records = []
        for i, (_, _, record) in enumerate(self.raw, start=1):
            record["source_id"] = f"demo-{i:0{width}d}"
            records.append(record)
        n_dup = max(1, round(len(records) * 0.005)) if records else 0
        copies = [dict(r, properties=dict(r["properties"])) for r in rng.sample(records, n_dup)]
        records.extend(copies)
        records.sort(key=lambda r: (r["occurred_at"], r["source_id"]))
        return records, n_dup
