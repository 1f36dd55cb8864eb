"""Answers of the API as the OpenAPI document shows them: the examples too long to keep beside
their routes. Each was taken from a real answer of the API (a lead of the default playbook) and is
checked against its response model by ``tests/http/test_openapi_examples.py``.
"""

from __future__ import annotations

from typing import Any

#: ``POST /v1/activities``: one record that created its lead (201).
CREATED_EXAMPLE: dict[str, Any] = {
    "received": 1,
    "created": 1,
    "updated": 0,
    "duplicates": 0,
    "rejected": 0,
    "records": [
        {
            "index": 0,
            "status": "created",
            "lead": "m.ito@kaede-logi.co.jp",
            "field": None,
            "reason": None,
            "stage": "nurture",
            "level": None,
            "scores": {"fit": 0.0, "engagement": 40.0, "total": 40.0},
            "owner_department": None,
            "owner_rep": None,
            "hand_raiser": True,
            "routed": None,
        }
    ],
}

#: ``GET /v1/leads/{ref}``: a hand-raiser routed to inside sales, with a note.
LEAD_REPORT_EXAMPLE: dict[str, Any] = {
    "email": "k.sato@sakura-mfg.co.jp",
    "external_id": None,
    "profile": {
        "name": "佐藤 健太",
        "first_name": "健太",
        "last_name": "佐藤",
        "title": "情報システム部 部長",
        "seniority": "manager",
        "department": "it",
        "phone": None,
        "country": None,
        "prefecture": None,
        "postal_code": None,
        "source_channel": None,
        "company_name": "さくら製作所",
        "list_source": "house",
        "custom": {},
        "created_at": "2026-11-25T12:00:00+09:00",
    },
    "account": {
        "domain": "sakura-mfg.co.jp",
        "name": "さくら製作所",
        "industry": "manufacturing",
        "employees": 800,
        "country": None,
        "prefecture": None,
        "tier": None,
        "owner": None,
    },
    "match": {
        "account": "sakura-mfg.co.jp",
        "tier": 4,
        "tier_label": {"en": "new account", "ja": "新規企業"},
        "evidence": [
            {
                "kind": "new_account",
                "text": {
                    "en": "no account matched: a new account for the corporate domain",
                    "ja": "該当企業なし：企業ドメインで新規作成",
                },
                "lead": "sakura-mfg.co.jp",
                "account": "sakura-mfg.co.jp",
            }
        ],
        "passed_over": [],
        "matched_at": "2026-11-25T12:00:00+09:00",
        "confirmed": False,
    },
    "stage": "mql",
    "stage_label": {"en": "MQL", "ja": "MQL（営業引き渡し）"},
    "stage_since": "2026-11-25T11:50:00+09:00",
    "recycled_count": 0,
    "history": [
        {
            "at": "2026-11-25T11:50:00+09:00",
            "from": "new",
            "to": "mql",
            "trigger": "hand_raised",
            "actor": "engine",
            "rule": "hand_raiser_request",
            "reason": "Asked for a demo, contact or free audit: demo_requested",
            "level": None,
            "score": 90.0,
            "playbook": "88ed62726091",
            "recorded_at": "2026-11-25T12:00:00+09:00",
        }
    ],
    "as_of": "2026-11-25T12:00:00+09:00",
    "playbook": {
        "id": "default",
        "version": "2026.12.1",
        "hash": "88ed62726091ea1f7b56be4e80868b7b8409c8d0d60a3e74a79a834098a6023a",
    },
    "disqualification": None,
    "scores": {
        "fit": 50.0,
        "engagement": 40.0,
        "total": 90.0,
        "by_product": {},
        "fit_gate_passed": True,
        "fit_gate_min": 20.0,
    },
    "fit": [
        {"rule": "target_industry", "label": "Target industry", "points": 20.0},
        {"rule": "company_size_mid", "label": "100-999 employees", "points": 10.0},
        {"rule": "decision_maker", "label": "Decision maker (executive, director, manager)", "points": 15.0},
        {
            "rule": "relevant_department",
            "label": "Relevant department (IT, marketing, sales, management)",
            "points": 5.0,
        },
    ],
    "engagement": [
        {
            "activity": "demo_requested",
            "at": "2026-11-25T11:50:00+09:00",
            "campaign": "web-contact",
            "product": None,
            "rule": "hand_raise_points",
            "label": "Asked for a demo, contact or free audit",
            "base": 40.0,
            "counted": 40.0,
            "decay": 0.9999,
            "points": 40.0,
            "note": "",
        }
    ],
    "level": None,
    "mql": {"rule": "hand_raiser_request", "at": "2026-11-25T11:50:00+09:00", "product": None, "priority": True},
    "activities": 1,
    "outcomes": [],
    "owner": {
        "holder": "sales",
        "rep": "is-kobayashi",
        "rep_name": "小林 美咲",
        "department": "hq_inside_sales",
        "department_label": {"en": "HQ Inside Sales", "ja": "本社 インサイドセールス"},
        "assigned_at": "2026-11-25T12:00:00+09:00",
        "why": "Other MQLs → HQ Inside Sales: 小林 美咲 (round robin)",
    },
    "routing": [
        {
            "at": "2026-11-25T12:00:00+09:00",
            "kind": "route",
            "rule": "route_inside_sales",
            "department": "hq_inside_sales",
            "strategy": "round_robin",
            "rep": "is-kobayashi",
            "previous_rep": None,
            "reason": "Other MQLs → HQ Inside Sales: 小林 美咲 (round robin)",
            "actor": "engine",
            "passed_over": [
                {"rep": "is-yamamoto", "why": "turn", "detail": ""},
                {"rep": "is-nakamura", "why": "turn", "detail": ""},
            ],
            "rules_not_taken": [
                {"rule": "route_named_account_osaka", "why": "condition"},
                {"rule": "route_named_account_hq", "why": "condition"},
            ],
        }
    ],
    "sla": [
        {
            "lead": "k.sato@sakura-mfg.co.jp",
            "rep": "is-kobayashi",
            "department": "hq_inside_sales",
            "policy": "sla_inside_sales",
            "clock": "touch",
            "assigned_at": "2026-11-25T12:00:00+09:00",
            "warn_at": "2026-11-25T13:30:00+09:00",
            "due_at": "2026-11-25T14:00:00+09:00",
            "state": "ok",
            "business_hours_left": 2.0,
        },
        {
            "lead": "k.sato@sakura-mfg.co.jp",
            "rep": "is-kobayashi",
            "department": "hq_inside_sales",
            "policy": "sla_inside_sales",
            "clock": "accept",
            "assigned_at": "2026-11-25T12:00:00+09:00",
            "warn_at": "2026-11-25T18:00:00+09:00",
            "due_at": "2026-11-26T11:00:00+09:00",
            "state": "ok",
            "business_hours_left": 8.0,
        },
    ],
    "touches": [],
    "notes": [{"text": "CTO も同席希望", "actor": "admin@example.co.jp", "at": "2026-11-25T12:00:00+09:00"}],
}

#: ``POST /v1/reps/{rep_id}/reassign`` through routing again.
REASSIGNED_EXAMPLE: list[dict[str, Any]] = [
    {
        "lead": "k.sato@sakura-mfg.co.jp",
        "rule": "route_inside_sales",
        "department": "hq_inside_sales",
        "strategy": "round_robin",
        "rep": "is-yamamoto",
        "previous_rep": "is-kobayashi",
        "reason": "Other MQLs → HQ Inside Sales: 山本 翔 (round robin)",
        "hand_raised": True,
        "passed_over": [
            {"rep": "is-kobayashi", "why": "excluded", "detail": ""},
            {"rep": "is-nakamura", "why": "turn", "detail": ""},
        ],
        "rules_not_taken": [
            {"rule": "route_named_account_osaka", "why": "condition"},
            {"rule": "route_named_account_hq", "why": "condition"},
        ],
    }
]

#: ``GET /v1/playbook/versions``.
VERSIONS_EXAMPLE: list[dict[str, Any]] = [
    {
        "hash": "88ed62726091ea1f7b56be4e80868b7b8409c8d0d60a3e74a79a834098a6023a",
        "id": "default",
        "version": "2026.12.1",
        "name": "Default B2B handoff (seed example)",
        "source": "default_playbook.yaml",
        "loaded_at": "2026-11-25T12:00:00+09:00",
        "active": True,
        "activations": [{"at": "2026-11-25T12:00:00+09:00", "by": "engine"}],
    }
]

#: ``POST /v1/playbook/validate``: a playbook that can be used.
CHECK_EXAMPLE: dict[str, Any] = {
    "valid": True,
    "id": "default",
    "version": "2026.12.1",
    "hash": "88ed62726091ea1f7b56be4e80868b7b8409c8d0d60a3e74a79a834098a6023a",
    "errors": [],
}
