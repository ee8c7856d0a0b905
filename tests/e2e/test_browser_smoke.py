"""The browser fixtures themselves: the served app answers a phone-sized Chromium."""


def test_login_page_fits_a_phone(ctx, live_url, phone):
    phone.goto(f"{live_url}/login")
    assert phone.locator("input[name=username]").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert phone.viewport_size == {"width": 375, "height": 812}
    assert width <= 375 + 1, f"the login page scrolls sideways at 375 px ({width} px wide)"


def test_phone_reports_its_fake_location(ctx, live_url, phone):
    phone.goto(f"{live_url}/login")
    coords = phone.evaluate("""() => new Promise((ok, fail) =>
        navigator.geolocation.getCurrentPosition(
            p => ok([p.coords.latitude, p.coords.longitude]), e => fail(e.message)))""")
    assert coords == [30.5405, 114.3305]
