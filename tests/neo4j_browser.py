"""Drive Neo4j Browser in headless Chromium: log in, apply a GraSS style, run Cypher, save a screenshot.

Shared by ``test_browser_e2e_neo4j.py`` and ``bench/browser_screenshot.py``. Text reaches Browser's
editor as a paste event (what a user does), so Monaco neither auto-closes brackets nor runs a line
early on a newline; every step waits for what the page shows, never for a fixed time.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER_NAMES = ("chromedriver",)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run")
TIMEOUT = 90.0

_PASTE = """const [area, text] = arguments;
area.focus();
const data = new DataTransfer();
data.setData('text/plain', text);
area.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));"""


def find_binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver) on PATH, or None when either is missing."""
    chromium = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = next((p for p in map(shutil.which, CHROMEDRIVER_NAMES) if p), None)
    return (chromium, driver) if chromium and driver else None


def graph_text(cypher: str) -> str:
    """A .cypher file's statement without its header comment (Browser shows it in the frame's title)."""
    return "\n".join(line for line in cypher.splitlines() if not line.lstrip().startswith("//")).strip()


class BrowserSession:
    """One headless Chromium with a fresh profile, showing Neo4j Browser at ``url``."""

    def __init__(self, url: str, binaries: tuple[str, str], size: tuple[int, int] = (1400, 1000)):
        self.url = url
        self._profile = tempfile.mkdtemp(prefix="kgrec-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = binaries[0]
        for flag in (*FLAGS, f"--user-data-dir={self._profile}", f"--window-size={size[0]},{size[1]}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(binaries[1]))
        self.wait = WebDriverWait(self.driver, TIMEOUT)

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.driver.quit()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _find(self, css: str) -> WebElement:
        return self.wait.until(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), None))

    def login(self, bolt_uri: str, user: str, password: str) -> None:
        """Fill Browser's connect form and wait until the editor prompt shows the connected user."""
        self.driver.get(self.url)
        address = self._find("[data-testid=boltaddress]")
        address.clear()
        address.send_keys(bolt_uri)
        self._find("[data-testid=username]").send_keys(user)
        self._find("[data-testid=password]").send_keys(password)
        self._find("[data-testid=connect]").click()
        self.wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=disconnectedBanner]"))
        self.wait.until(lambda d: "neo4j$" in d.find_element(By.CSS_SELECTOR, "[data-testid=activeEditor]").text)

    def _frames(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "article[data-testid=frame]")

    def run(self, text: str) -> WebElement:
        """Paste ``text`` into the editor, run it, and return the frame it opened (newest is first)."""
        before = len(self._frames())
        area = self._find("#monaco-main-editor textarea")
        self.driver.execute_script(_PASTE, area, text)
        self._find("[data-testid=editor-Run]").click()
        self.wait.until(lambda d: len(self._frames()) > before)
        return self._frames()[0]

    def apply_style(self, grass: str) -> None:
        """``:style`` followed by the GraSS text, as the Inspecting guide (docs/guides/inspecting.md) tells a user to do."""
        frame = self.run(":style " + grass)
        self.wait.until(lambda d: "Error" in frame.text or "node {" in frame.text)
        if "Error" in frame.text:  # e.g. InvalidGrassError: Browser's GraSS parser takes no comments
            raise ValueError("Browser refused the style: " + frame.text[:300])

    def set_params(self, params: dict[str, str | int]) -> None:
        """One ``:params {...}`` command (it replaces all parameters), as the Inspecting guide's walk-through does."""
        def literal(value: str | int) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" if isinstance(value, str) else str(value)

        frame = self.run(":params {" + ", ".join(f"{k}: {literal(v)}" for k, v in params.items()) + "}")
        self.wait.until(lambda d: all(f'"{k}"' in frame.text for k in params))

    def wait_for_graph(self, frame: WebElement, min_nodes: int) -> tuple[int, int]:
        """Wait until the frame's graph view draws ``min_nodes`` nodes and the layout settles."""
        def counts(_: object) -> tuple[int, int] | None:
            nodes = len(frame.find_elements(By.CSS_SELECTOR, "svg g.node"))
            rels = len(frame.find_elements(By.CSS_SELECTOR, "svg g.relationship"))
            return (nodes, rels) if nodes >= min_nodes else None

        found = self.wait.until(counts)
        previous: list[str] = []

        def settled(_: object) -> bool:
            now = [e.get_attribute("transform") or "" for e in frame.find_elements(By.CSS_SELECTOR, "svg g.node")]
            done = now == previous
            previous[:] = now
            return done

        WebDriverWait(self.driver, TIMEOUT, poll_frequency=1.0).until(settled)
        return found

    def node_fills(self, frame: WebElement) -> set[str]:
        """Fill colours of the drawn nodes (upper case), to see that the style took effect."""
        circles = frame.find_elements(By.CSS_SELECTOR, "svg g.node circle")
        return {(c.get_attribute("fill") or "").upper() for c in circles} - {""}

    def screenshot(self, element: WebElement, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.execute_script("arguments[0].scrollIntoView(true);", element)
        if not element.screenshot(str(path)):
            raise RuntimeError(f"Chromium could not write {path}")
        return path
