"""The texts of the dashboard's playbook pages in English and Japanese: ``TEXTS[key] = (en, ja)``.

They join the dashboard's texts (:data:`leadrelay.entrypoints.http.web.texts.TEXTS`) when this
module is imported, so that every page's ``t()`` finds them (the navigation link is on every page);
a key may not be defined twice.
"""

from __future__ import annotations

from leadrelay.entrypoints.http.web import texts

TEXTS: dict[str, tuple[str, str]] = {
    "nav_playbook": ("Playbook", "プレイブック"),
    # the active playbook
    "pb_title": ("Playbook", "プレイブック"),
    "pb_sections": ("On this page", "このページの内容"),
    "pb_about": ("Which playbook", "使用中のプレイブック"),
    "pb_name": ("Name", "名前"),
    "pb_id": ("Id", "ID"),
    "pb_version": ("Version", "バージョン"),
    "pb_hash": ("Hash", "ハッシュ"),
    "pb_activated": ("Activated", "有効化"),
    "pb_activated_by": ("Activated by", "有効化した人"),
    "pb_activated_at": ("Activated at", "有効化日時"),
    "pb_activated_unknown": ("not recorded", "記録なし"),
    "pb_source": ("Source", "読み込み元"),
    "pb_timezone": ("Time zone", "タイムゾーン"),
    "pb_window": ("Scoring window", "スコア対象期間"),
    "pb_window_days": ("{days} days", "{days}日"),
    "pb_no_window": ("no limit", "制限なし"),
    "pb_default_decay": ("Decay of engagement points", "行動スコアの減衰"),
    "pb_default_decay_short": ("the default (above)", "既定（上記）"),
    "pb_fit_gate": ("Fit needed before an MQL", "MQLに必要な属性スコア"),
    "pb_no_gate": ("none", "なし"),
    "pb_fit_at_least": ("fit score ≥ {points}", "属性スコア ≥ {points}"),
    "pb_earns": ("What earns points", "加点の条件"),
    "pb_fit_rules": ("Fit: who the lead is", "属性スコア：リードの属性"),
    "pb_engagement_rules": ("Engagement: what the lead did", "行動スコア：リードの行動"),
    "pb_rule": ("Rule", "ルール"),
    "pb_label": ("Label", "説明"),
    "pb_condition": ("Condition", "条件"),
    "pb_points": ("Points", "点数"),
    "pb_activity": ("Activity", "行動"),
    "pb_limits": ("Repeats and caps", "回数・上限"),
    "pb_decay": ("Decay", "減衰"),
    "pb_once_per": ("once per {field}", "{field} ごとに1回"),
    "pb_at_most_times": ("at most {n} times", "最大{n}回"),
    "pb_at_most_once": ("once at most", "1回まで"),
    "pb_cap": ("at most {points} points per {per}", "{per}あたり最大{points}点"),
    "pb_per_day": ("day", "1日"),
    "pb_per_week": ("week", "1週間"),
    "pb_per_month": ("month", "1か月"),
    "pb_per_lead": ("lead", "リード"),
    "pb_no_limit": ("no limit", "制限なし"),
    "pb_every_activity": ("every such activity", "該当する行動すべて"),
    "pb_disqualifies": ("What disqualifies", "対象外とする条件"),
    "pb_reason": ("Reason code", "理由コード"),
    "pb_hand_raisers": ("Hand-raisers (sent to sales at once)", "ハンドレイザー（即時に営業へ）"),
    "pb_bypass_gate": (
        "Hand-raisers skip the fit requirement.",
        "ハンドレイザーは属性スコアの条件を問いません。",
    ),
    "pb_keep_gate": (
        "Hand-raisers need the fit requirement too.",
        "ハンドレイザーにも属性スコアの条件が適用されます。",
    ),
    "pb_levels": ("Level table", "確度レベル"),
    "pb_level": ("Level", "レベル"),
    "pb_owner": ("Owner", "担当"),
    "pb_levels_note": (
        "The highest level whose condition a lead meets is its level.",
        "条件を満たす最も高いレベルが、そのリードのレベルです。",
    ),
    "pb_mql": ("MQL rules", "MQLの条件"),
    "pb_product": ("Product", "製品"),
    "pb_priority": ("Priority", "優先"),
    "pb_yes": ("yes", "はい"),
    "pb_no": ("no", "いいえ"),
    "pb_from_level": ("from the level table: level {level}", "確度レベル表より：レベル{level}"),
    "pb_mql_note": (
        "A lead that passes the fit requirement and meets any of these becomes an MQL.",
        "属性スコアの条件を満たし、いずれかに該当するリードがMQLになります。",
    ),
    "pb_routing": ("Routing", "ルーティング"),
    "pb_departments": ("Departments", "部署"),
    "pb_department": ("Department", "部署"),
    "pb_manager": ("Manager", "マネージャー"),
    "pb_reps": ("Reps", "担当者"),
    "pb_capacity": ("Capacity", "キャパシティ"),
    "pb_calendar": ("Business calendar", "営業カレンダー"),
    "pb_routing_rules": ("Routing rules (tried in order)", "ルーティングルール（上から順に適用）"),
    "pb_order": ("#", "順"),
    "pb_territory": ("Territory", "担当エリア"),
    "pb_strategy": ("Strategy", "割り当て方法"),
    "pb_anyone": ("every lead", "すべてのリード"),
    "pb_fallback": (
        "A lead no rule can place waits in the queue of: {department}",
        "どのルールでも割り当てられないリードの待機先：{department}",
    ),
    "pb_open_stages": (
        "Stages that count against a rep's capacity: {stages}",
        "担当者のキャパシティに数えるステージ：{stages}",
    ),
    "pb_pre_sql": (
        "Pre-SQL handoff (inside sales to field sales)",
        "Pre-SQL の引き渡し（インサイドセールス → フィールドセールス）",
    ),
    "pb_pre_sql_off": (
        "This playbook does not use the Pre-SQL stage.",
        "このプレイブックは Pre-SQL ステージを使いません。",
    ),
    "pb_inside_sales": (
        "Inside sales departments that qualify MQLs: {departments}",
        "MQLを引き渡すインサイドセールス部署：{departments}",
    ),
    "pb_pre_sql_fallback": (
        "A Pre-SQL no rule can place waits in the queue of: {department}",
        "どのルールでも割り当てられない Pre-SQL の待機先：{department}",
    ),
    "pb_sla": ("SLAs (in business time)", "SLA（営業時間で計算）"),
    "pb_sla_stage": ("Times the answer to", "対象"),
    "pb_levels_col": ("Levels", "レベル"),
    "pb_every_department": ("every department", "すべての部署"),
    "pb_every_level": ("every level", "すべてのレベル"),
    "pb_accept_within": ("Accept or reject within", "受入／差し戻しの期限"),
    "pb_touch_within": ("First touch within", "初回接触の期限"),
    "pb_warn_at": ("Warning at", "警告"),
    "pb_on_breach": ("On breach", "超過時"),
    "pb_breach_escalate": ("tell the manager", "マネージャーに通知"),
    "pb_breach_reassign": ("route again to another rep", "別の担当者に再割り当て"),
    "pb_business_hours": ("{hours} business hours", "{hours}営業時間"),
    "pb_of_time": ("{share} % of the time", "期限の{share}%"),
    "pb_sla_note": (
        "The clocks start when a lead is assigned to a rep and run only in the business hours of the "
        "department's calendar; a warning comes at the share of the time shown, the breach at its end.",
        "担当者に割り当てられた時点から、部署の営業カレンダーの営業時間だけを数えます。"
        "表示の割合で警告し、期限を過ぎると超過になります。",
    ),
    "pb_calendars": ("Business calendars", "営業カレンダー"),
    "pb_hours": ("Business hours", "営業時間"),
    "pb_used_by": ("Used by", "使用する部署"),
    "pb_targets": ("Targets", "目標"),
    "pb_mqls_per_month": ("MQLs a month (marketing delivers)", "月間MQL数（マーケティングの目標）"),
    "pb_weekly_intake": ("New MQLs a week each department can take", "各部署が週に受けられる新規MQL数"),
    "pb_mqls_a_week": ("New MQLs a week", "週あたりの新規MQL数"),
    "pb_not_agreed": ("not agreed", "未設定"),
    "pb_none": ("None.", "ありません。"),
    "pb_dash": ("—", "—"),
    "pb_done_activated": (
        "Playbook {version} is now the active one. New activities are judged by it; leads are not rescored.",
        "プレイブック {version} を有効にしました。新しい行動から適用されます（既存のリードは再計算されません）。",
    ),
    # versions and diff
    "pb_versions": ("Versions", "バージョン履歴"),
    "pb_versions_title": ("Playbook versions", "プレイブックのバージョン履歴"),
    "pb_active": ("active", "使用中"),
    "pb_state": ("State", "状態"),
    "pb_first_stored": ("First stored", "初回保存"),
    "pb_activations": ("Activations", "有効化の記録"),
    "pb_never_activated": ("never activated", "未有効化"),
    "pb_compare": ("Compare two versions", "2つのバージョンを比較"),
    "pb_diff_from": ("From (older)", "比較元（古い方）"),
    "pb_diff_to": ("To (newer)", "比較先（新しい方）"),
    "pb_show_diff": ("Show the differences", "差分を表示"),
    "pb_diff_title": ("Differences between two playbook versions", "プレイブックのバージョン間の差分"),
    "pb_diff_sections": ("Sections that changed", "変更されたセクション"),
    "pb_diff_no_sections": (
        "No section changed (only comments or layout).",
        "セクションの変更はありません（コメントや書式のみ）。",
    ),
    "pb_diff_same": ("The two versions have the same text.", "2つのバージョンの内容は同じです。"),
    "pb_diff_legend": (
        "Lines starting with - (red) are only in {old}; lines starting with + (green) are only in {new}.",
        "-（赤）で始まる行は {old} のみ、+（緑）で始まる行は {new} のみにあります。",
    ),
    "pb_diff_text": ("The YAML text, line by line", "YAMLテキストの行ごとの差分"),
    "pb_removed": ("removed", "削除"),
    "pb_added": ("added", "追加"),
    "pb_one_version": (
        "Only one version is stored: there is nothing to compare yet.",
        "保存されているバージョンは1つだけのため、比較できません。",
    ),
    "pb_bad_version": ("Unknown playbook version", "不明なプレイブックのバージョン"),
    "pb_unknown_version": (
        "{param}: no stored playbook version or hash is '{value}'. Choose one on the versions page.",
        "{param}：'{value}' というバージョンまたはハッシュのプレイブックは保存されていません。バージョン履歴から選んでください。",
    ),
    "pb_ambiguous_version": (
        "{param}: '{value}' names more than one stored playbook; give its hash instead.",
        "{param}：'{value}' に該当するプレイブックが複数あります。ハッシュで指定してください。",
    ),
    "pb_missing_version": (
        "{param}: choose a version to compare.",
        "{param}：比較するバージョンを選んでください。",
    ),
    # validate and activate
    "pb_candidate": ("Check or activate a playbook", "プレイブックの検証・有効化"),
    "pb_candidate_intro": (
        "Paste a playbook's YAML or choose its file. Checking stores nothing; activating makes it the active "
        "playbook for new activities and keeps it in the history with your name.",
        "プレイブックのYAMLを貼り付けるか、ファイルを選んでください。検証では何も保存されません。"
        "有効化すると新しい行動から適用され、あなたの名前とともに履歴に残ります。",
    ),
    "pb_yaml": ("Playbook YAML", "プレイブックのYAML"),
    "pb_file": (
        "Or a YAML file (used instead of the text when chosen)",
        "またはYAMLファイル（選んだ場合はテキストより優先）",
    ),
    "pb_validate": ("Check", "検証"),
    "pb_activate": ("Activate", "有効化"),
    "pb_valid": (
        "This playbook can be used: {id} {version} (hash {hash}).",
        "このプレイブックは使用できます：{id} {version}（ハッシュ {hash}）。",
    ),
    "pb_invalid": ("This playbook cannot be used:", "このプレイブックは使用できません："),
    "pb_line": ("Line", "行"),
    "pb_where": ("Where", "場所"),
    "pb_message": ("Problem", "問題"),
    "pb_text_at_line": ("Text on that line", "該当行の内容"),
    "pb_empty": ("Paste a playbook or choose a file first.", "プレイブックを貼り付けるか、ファイルを選んでください。"),
    "pb_not_utf8": ("The file is not UTF-8 text.", "ファイルが UTF-8 のテキストではありません。"),
    "pb_admin_only": (
        "Only an admin may check and activate playbooks here.",
        "ここでプレイブックを検証・有効化できるのは管理者だけです。",
    ),
}

_twice = TEXTS.keys() & texts.TEXTS.keys()
assert not _twice, f"defined twice: {sorted(_twice)}"
texts.TEXTS.update(TEXTS)
