"""``haven settings show|set``: every operator setting without SQL, checked, and all or nothing."""

from __future__ import annotations


def test_show_the_demo_users_settings(haven_user):
    data = haven_user.json("settings", "show")
    assert data["user"]["email"] == "demo@haven.local"
    assert data["global_mode"] == "autopilot" and data["effective_modes"] == {"mockups": "autopilot", "products": "autopilot"}
    assert (data["annual_mockup_budget"], data["monthly_mockup_soft_limit"], data["timezone"]) == (3500, 292, "UTC")
    text = haven_user("settings", "show").output
    assert "mode:                autopilot" in text and "annual budget:       3500 credits" in text


def test_set_every_setting_and_read_it_back(haven_user):
    out = haven_user("settings", "set", "--mode", "supervised", "--module", "mockups=autopilot", "--annual-budget", "1200",
                "--monthly-soft-limit", "100", "--timezone", "Europe/London").output
    assert "mockups:             autopilot (override)" in out and "products:            supervised (global mode)" in out
    data = haven_user.json("settings", "show")
    assert data["global_mode"] == "supervised"
    assert data["module_overrides"] == {"mockups": "autopilot"}
    assert data["effective_modes"] == {"mockups": "autopilot", "products": "supervised"}
    assert (data["annual_mockup_budget"], data["monthly_mockup_soft_limit"], data["timezone"]) == (1200, 100, "Europe/London")
    # A second override keeps the first; inherit removes one.
    haven_user("settings", "set", "--module", "products=assisted")
    assert haven_user.json("settings", "show")["module_overrides"] == {"mockups": "autopilot", "products": "assisted"}
    data = haven_user.json("settings", "set", "--module", "mockups=inherit")
    assert data["module_overrides"] == {"products": "assisted"}
    assert data["effective_modes"] == {"mockups": "supervised", "products": "assisted"}


def test_the_guardrails_reach_the_credit_ledger(haven_user):
    haven_user("settings", "set", "--annual-budget", "40", "--monthly-soft-limit", "8")
    credits = haven_user.json("credits", "show")
    assert (credits["annual_budget"], credits["monthly_soft_limit"]) == (40, 8)


def _unchanged(haven_user, before):
    assert haven_user.json("settings", "show") == before


def test_bad_values_name_the_option_and_change_nothing(haven_user):
    before = haven_user.json("settings", "show")
    bad_mode = haven_user("settings", "set", "--mode", "turbo", ok=False)
    assert bad_mode.exit_code == 2 and "--mode" in bad_mode.output
    assert "supervised" in bad_mode.output and "autopilot" in bad_mode.output
    for value, says in (("pinterest=autopilot", "unknown module 'pinterest'"), ("mockups=fast", "unknown mode 'fast'"),
                        ("mockups", "must be MODULE=MODE")):
        bad = haven_user("settings", "set", "--module", value, ok=False)
        assert bad.exit_code == 2, bad.output
        assert "--module" in bad.output and says in bad.output
        assert "valid modules: mockups, products" in bad.output
        assert "valid modes: supervised, assisted, autopilot, inherit" in bad.output
    bad_budget = haven_user("settings", "set", "--annual-budget", "-1", ok=False)
    assert bad_budget.exit_code == 2 and "--annual-budget" in bad_budget.output
    bad_limit = haven_user("settings", "set", "--monthly-soft-limit", "lots", ok=False)
    assert bad_limit.exit_code == 2 and "--monthly-soft-limit" in bad_limit.output
    # Checked before anything is written: the good --mode beside a bad time zone is not applied.
    bad_zone = haven_user("settings", "set", "--mode", "supervised", "--timezone", "Mars/Olympus_Mons", ok=False)
    assert bad_zone.exit_code == 1
    assert "--timezone: not an IANA time zone: 'Mars/Olympus_Mons'" in bad_zone.output
    assert "Traceback" not in bad_zone.output
    for zone in ("../../etc/passwd", "", "x" * 65):
        assert "--timezone" in haven_user("settings", "set", "--timezone", zone, ok=False).output
    nothing = haven_user("settings", "set", ok=False)
    assert nothing.exit_code == 1 and "nothing to change" in nothing.output
    _unchanged(haven_user, before)


def test_unknown_user(haven_user):
    result = haven_user("settings", "show", "--user", "nobody@haven.test", ok=False)
    assert result.exit_code == 1 and "user nobody@haven.test not found" in result.output
