"""The small services behind the CLI: the catalogue summary, mockup listing and the Shopify connection."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from haven_pipelines.db.tables import integrations
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.services.mockups import list_mockups
from haven_pipelines.services.render import RenderService, RenderTask
from haven_pipelines.services.shopify_connection import connect_shopify
from haven_pipelines.services.summary import catalogue_summary


def test_summary_and_listing_count_what_was_rendered(world):
    user = world.user("sum@example.com", global_mode="autopilot")
    other = world.user("other@example.com")
    design = world.design(user)
    world.design(other, approved=False)
    RenderService(world.ctx).render_batch(user, [RenderTask(design, "bedroom"), RenderTask(design, "living_room")])
    summary = catalogue_summary(world.ctx.engine)
    assert summary.approved_designs == 1
    assert summary.mockups_by_status == {"approved": 2} and summary.mockups == 2
    assert (summary.products, summary.active_products, summary.product_sets_recorded, summary.credits_charged) == (0, 0, 0, 0)

    page = list_mockups(world.ctx.engine, user, limit=1)
    assert page.total == 2 and len(page.rows) == 1 and page.rows[0]["quote_text"] == "Rest is a form of courage"
    assert list_mockups(world.ctx.engine, other).total == 0  # another user's mockups are not listed
    with pytest.raises(ValidationError) as err:
        list_mockups(world.ctx.engine, user, status="done")
    assert err.value.field == "status"


@pytest.mark.parametrize("token", ["", "   "])
def test_connecting_without_a_token_stores_nothing(world, token):
    user = world.user("shop@example.com")
    with pytest.raises(ValidationError) as err:
        connect_shopify(world.ctx.engine, user, "haven-and-hold", token, check=False)
    assert err.value.field == "token"
    with world.ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(integrations)).scalar_one() == 0
