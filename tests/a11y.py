"""axe-core for any browser test: `check_axe(page)` asserts that the page it shows has no
WCAG 2.2 AA violation axe can find, with a message that names each rule and element.

axe-core is a test-only npm package (package.json at the root; `make test` runs `npm ci`),
read from node_modules and injected into the page: the app itself ships no JavaScript for it.
The app's Content-Security-Policy refuses the injected <script>; axe then goes in through
Playwright's evaluate, so no test has to open its context with `bypass_csp`, which would
also let through inline styles the person's browser refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0, 2.1 and 2.2 at levels A and AA: what issue 11 asks for.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Runs axe-core on the page as it stands and returns its violations (axe's own dicts)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` at the project's root (`make test` does)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        try:
            page.add_script_tag(path=str(AXE))
        except PlaywrightError:
            # The app's Content-Security-Policy refuses an inline <script>, as it should;
            # the DevTools protocol's evaluate is not a script of the page and passes, so
            # the page is checked exactly as the person's browser renders it.
            page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary, html: n.html.slice(0, 200)}))}));
        }""",
        TAGS,
    )
    return list(result)


def describe(violations: list[dict[str, Any]]) -> str:
    """One line a rule, then each element it found, indented: readable in a test report."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}: {node['html']}\n      {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def check_axe(page: Any, where: str = "") -> None:
    """Asserts 0 axe-core violations on the page; the message lists each one."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {where or page.url}:\n{describe(violations)}"
