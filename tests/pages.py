"""Open a rendered page from disk in headless Chromium, offline, and report what its plotly charts drew.

Shared by the tests of the run report (`test_browser.py`) and of the sweep report (`test_sweep.py`)."""
import re
from pathlib import Path
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# a page opened from disk: only the file itself (and data: URIs) may be requested; the browser's own favicon probe aside
LOCAL = re.compile(r"^(file|data|about|blob):", re.I)
PLOTS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(el => ({
    title: (el.querySelector('.gtitle') || {}).textContent || '',
    lines: el.querySelectorAll('.scatterlayer .trace path.js-line').length,
    points: el.querySelectorAll('.scatterlayer .trace .points path').length,
    bars: el.querySelectorAll('.barlayer .point').length,
    heat: el.querySelectorAll('.heatmaplayer image, .hm image').length}))"""


def need_chromium():
    if not CHROMIUM.exists(): pytest.skip("no /usr/bin/chromium: apt-get install -y chromium")


def open_offline(html: Path, n_figs: int, screenshot: Path | None = None) -> dict:
    """Load `html` with every non-local request blocked; wait for `n_figs` plotly charts.
    Returns {'plots': [...what each chart drew], 'problems': [page errors, console errors], 'external': [blocked URLs],
    'big_scripts': how many >1 MB plotly scripts the page holds}."""
    from playwright.sync_api import sync_playwright
    problems, external = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text} ({m.location.get('url')})"))
            def block(route):   # every request that would leave the file fails the test (and is not sent)
                url = route.request.url
                if LOCAL.match(url) and not url.endswith("favicon.ico"): return route.continue_()
                if not url.endswith("favicon.ico"): external.append(url)
                route.abort()
            page.route("**/*", block)
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {n_figs}", timeout=30_000)
            page.wait_for_timeout(500)
            plots = page.evaluate(PLOTS_JS)
            big_scripts = page.evaluate("[...document.scripts].filter(s => s.text.length > 1e6 && s.text.includes('plotly')).length")
            if screenshot: page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return {"plots": plots, "problems": problems, "external": external, "big_scripts": big_scripts}


FIRST_SCREEN_JS = """() => {
    const top = el => el ? el.getBoundingClientRect().top + window.scrollY : null;
    const find = text => [...document.querySelectorAll('p, h1, h2, h3, strong')].find(e => e.textContent.includes(text));
    const plot = prefix => [...document.querySelectorAll('.js-plotly-plot')]
        .find(e => ((e.querySelector('.gtitle') || {}).textContent || '').startsWith(prefix));
    return {status: top(find('Final status:')), table: top(document.querySelector('.jp-OutputArea-output table')),
            trajectory: top(plot('Training trajectory')), per_class: top(plot('Per-class accuracy')),
            appendix: top(find('Appendix: parameters')), text: document.body.innerText};
}"""


def page_layout(html: Path, viewport=(1400, 1000)) -> dict:
    "Where a rendered run page puts its parts: the top (px from the page's top) of the status banner, the first table, the "
    "trajectory and per-class charts and the appendix heading, plus the page's text; opened offline like `open_offline`."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.route("**/*", lambda route: route.continue_() if LOCAL.match(route.request.url) else route.abort())
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .gtitle').length >= 2", timeout=30_000)
            return page.evaluate(FIRST_SCREEN_JS)
        finally:
            browser.close()
