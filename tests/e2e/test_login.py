import re

from playwright.sync_api import expect


def test_wrong_password_is_refused_then_right_one_lands_on_my_day(page, login, rep):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(rep.username)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    login(rep)
    expect(page).to_have_url(re.compile(r"/my-day/$"))
