"""User-interface text in English and Japanese."""

from __future__ import annotations

import os

LANGS = ("en", "ja")

_TEXT: dict[str, tuple[str, str]] = {
    "profile": ("Profile", "プロフィール"),
    "account": ("Account", "企業"),
    "stage": ("Stage", "ステージ"),
    "since": ("since", "以降"),
    "history": ("History", "履歴"),
    "time": ("Time", "日時"),
    "from": ("From", "前"),
    "to": ("To", "後"),
    "trigger": ("Trigger", "トリガー"),
    "actor": ("Actor", "実行者"),
    "rule": ("Rule", "ルール"),
    "reason": ("Reason", "理由"),
    "scores": ("Scores", "スコア"),
    "fit": ("Fit", "適合度"),
    "engagement": ("Engagement", "エンゲージメント"),
    "total": ("Total", "合計"),
    "points": ("Points", "点数"),
    "activity": ("Activity", "行動"),
    "campaign": ("Campaign", "キャンペーン"),
    "counted": ("Counted", "計上"),
    "decay": ("Decay", "減衰"),
    "note": ("Note", "備考"),
    "level": ("Level", "確度レベル"),
    "owner": ("Owner", "担当部署"),
    "mql": ("MQL", "MQL"),
    "disqualified": ("Disqualified", "対象外"),
    "none": ("none", "なし"),
    "fit_gate": ("Fit gate", "適合度ゲート"),
    "passed": ("passed", "通過"),
    "not_passed": ("not passed", "未通過"),
    "leads": ("Leads", "リード"),
    "unique_companies": ("Unique companies", "ユニーク社数"),
    "by_stage": ("Leads by lifecycle stage", "ライフサイクルステージ別リード数"),
    "by_level": ("Leads by level (not disqualified)", "確度レベル別リード数（対象外を除く）"),
    "mqls_this_week": ("MQLs this week", "今週のMQL"),
    "top_leads": ("Top leads and why they scored", "上位リードとスコアの理由"),
    "dq_reasons": ("Disqualified by reason", "対象外の理由別件数"),
    "why": ("Why", "理由"),
    "company": ("Company", "企業"),
    "score": ("Score", "スコア"),
    "count": ("Count", "件数"),
    "condition": ("Condition", "条件"),
    "label": ("Label", "説明"),
    "limits": ("Repeat / cap", "繰り返し・上限"),
    "pb_disqualify": ("What disqualifies a lead", "対象外とする条件"),
    "pb_fit": ("Fit: who the lead is", "適合度：リードの属性"),
    "pb_engagement": ("What earns points", "行動スコア：加点・減点"),
    "pb_levels": ("What makes each level", "確度レベルの条件"),
    "pb_mql": ("What makes an MQL (first match wins)", "MQLとする条件（上から順に判定）"),
    "pb_hand_raisers": ("Hand-raisers: straight to sales", "ハンドレイザー：即時に営業へ"),
    "product": ("Product", "製品"),
    "priority": ("Priority", "優先"),
    "yes": ("yes", "はい"),
    "no": ("no", "いいえ"),
    "activities_recorded": ("activities recorded", "件の行動を記録"),
    "duplicates_skipped": ("duplicates skipped", "件の重複をスキップ"),
    "rejected": ("rejected", "件を除外"),
    "leads_created": ("leads created", "件のリードを作成"),
    "leads_updated": ("leads updated", "件のリードを更新"),
    "stage_moves": ("stage moves", "件のステージ移動"),
    "playbook_valid": ("playbook is valid", "プレイブックは有効です"),
    "playbook_active": ("is now the active playbook", "を有効なプレイブックにしました"),
    "window": ("Scoring window", "スコア対象期間"),
    "days": ("days", "日"),
    "operator": ("Operator", "演算子"),
    "value": ("Value", "値"),
    "meaning": ("Meaning", "意味"),
    "rescore_done": ("Rescored", "再スコアリング完了"),
    "rescore_dry_run": ("Dry run, nothing written", "ドライラン（書き込みなし）"),
    "rescore_leads": ("leads", "件のリード"),
    "rescore_nothing": ("Nothing changed: every lead is up to date.", "変更はありません：すべてのリードは最新です。"),
    "rescore_written": ("Leads with new scores, level or fit", "スコア・レベル・適合度が変わったリード"),
    "rescore_up": ("Level moved up", "レベルが上がったリード"),
    "rescore_down": ("Level moved down", "レベルが下がったリード"),
    "rescore_became_mql": ("Became MQL", "MQLになったリード"),
    "rescore_mql_not_meeting": (
        "MQLs that no longer meet any MQL rule (they stay MQL)",
        "MQL条件を満たさなくなったMQL（MQLのまま）",
    ),
    "rescore_disqualified": ("Disqualified", "対象外になったリード"),
    "rescore_reinstated": ("Reinstated", "対象外から復帰したリード"),
    "rescore_level_table": ("Level changes", "レベルの変化"),
}


def default_lang() -> str:
    for name in ("LEADRELAY_LANG", "LC_ALL", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def t(key: str, lang: str) -> str:
    en, ja = _TEXT[key]
    return ja if lang == "ja" else en
