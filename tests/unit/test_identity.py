"""Who is who: e-mail normalisation, free-mail providers and company domains."""

from __future__ import annotations

import pytest

from leadrelay.adapters.playbook.loader import free_mail_domains
from leadrelay.domain.identity import (
    InvalidEmail,
    account_domain,
    is_free_mail,
    normalise_domain,
    normalise_email,
)

FREE_MAIL = frozenset({"gmail.com", "yahoo.co.jp", "outlook.jp"})


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Taro.Yamada@Example.CO.JP", "taro.yamada@example.co.jp"),
        ("  taro@example.jp \t", "taro@example.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("ＴＡＲＯ@ＡＣＭＥ.co.jp", "taro@acme.co.jp"),
        ("taro＠acme.co.jp", "taro@acme.co.jp"),
        ("<taro@acme.co.jp>", "taro@acme.co.jp"),
        ("taro@acme.co.jp.", "taro@acme.co.jp"),
        ("Taro+News@Acme.com", "taro+news@acme.com"),
    ],
)
def test_normalise_email_folds_case_spaces_and_full_width_to_ascii(raw: str, normalised: str) -> None:
    assert normalise_email(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "e-mail is empty"),
        ("   ", "e-mail is empty"),
        ("taro.acme.co.jp", "'taro.acme.co.jp' is not an e-mail address (it needs exactly one @)"),
        ("taro@@acme.co.jp", "'taro@@acme.co.jp' is not an e-mail address (it needs exactly one @)"),
        ("a@b@acme.co.jp", "'a@b@acme.co.jp' is not an e-mail address (it needs exactly one @)"),
        ("@acme.co.jp", "'@acme.co.jp' has an invalid part before the @"),
        (".taro@acme.co.jp", "'.taro@acme.co.jp' has an invalid part before the @"),
        ("taro.@acme.co.jp", "'taro.@acme.co.jp' has an invalid part before the @"),
        ("ta..ro@acme.co.jp", "'ta..ro@acme.co.jp' has an invalid part before the @"),
        ("taro@localhost", "'taro@localhost' is not an e-mail address"),
        ("taro@-acme.co.jp", "'taro@-acme.co.jp' is not an e-mail address"),
        ("taro yamada@acme.co.jp", "'taro yamada@acme.co.jp' is not an e-mail address"),
        ("山田@acme.co.jp", "'山田@acme.co.jp' is not an e-mail address"),
    ],
)
def test_invalid_email_is_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalise_email(raw)
    assert str(caught.value) == reason


def test_an_email_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidEmail, match=r"^e-mail must be text$"):
        normalise_email(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("yahoo.co.jp", True),
        ("mail.yahoo.co.jp", True),
        ("a.b.gmail.com", True),
        ("notgmail.com", False),
        ("gmail.com.example.jp", False),
        ("acme.co.jp", False),
        ("co.jp", False),
    ],
)
def test_free_mail_matches_providers_and_their_sub_domains(domain: str, free: bool) -> None:
    assert is_free_mail(domain, FREE_MAIL) is free


def test_account_domain_is_none_for_free_mail() -> None:
    assert account_domain("taro@gmail.com", FREE_MAIL) is None
    assert account_domain("taro@mail.yahoo.co.jp", FREE_MAIL) is None
    assert account_domain("taro@osaka.acme.co.jp", FREE_MAIL) == "osaka.acme.co.jp"


def test_the_bundled_free_mail_list_holds_the_common_japanese_providers() -> None:
    bundled = free_mail_domains()
    assert {"gmail.com", "yahoo.co.jp", "outlook.jp", "icloud.com"} <= bundled
    assert not any(line.startswith("#") for line in bundled)
    assert account_domain("hanako@docomo.ne.jp", bundled) is None


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("Acme.CO.JP", "acme.co.jp"),
        ("https://www.acme.co.jp/about", "acme.co.jp"),
        ("http://acme.com/", "acme.com"),
        ("ａｃｍｅ．ｃｏ．ｊｐ", "acme.co.jp"),
        (" acme.co.jp. ", "acme.co.jp"),
    ],
)
def test_normalise_domain_strips_scheme_www_and_path(raw: str, domain: str) -> None:
    assert normalise_domain(raw) == domain
