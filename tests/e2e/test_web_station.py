"""The reading station in headless Chromium against `mibgscore serve --demo`: buttons that
follow their state, the selected segment as an outline, evidence and its legend, corrections
at the lesion (reject, add, paint) with both scores recomputed by the server, the worklist,
French, the follow-up lesion pairing, 1366 x 768, and a timed keyboard-only read of every demo
study with its number of actions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest
from browser_steps import TIMEOUT_MS, login, wait_all_scored

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FULL_HD = {"width": 1920, "height": 1080}
SMALL = {"width": 1366, "height": 768}






@pytest.fixture
def hd(browser):
    """A page at 1920 x 1080 whose console errors are collected."""
    context = browser.new_context(viewport=FULL_HD, accept_downloads=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()


def _api(page, url, method, path, body=None):
    csrf = page.request.get(f"{url}/api/me").json()["csrf"]
    r = page.request.fetch(f"{url}{path}", method=method, data=body,
                           headers={"X-CSRF-Token": csrf})
    assert r.ok, r.text()
    return r.json()


def _rows(page, url):
    return page.request.get(f"{url}/api/studies").json()


def _demo(page, url, pid, *, newest=True):
    rows = [r for r in _rows(page, url) if r["patient_id"] == pid]
    return sorted(rows, key=lambda r: r["study_date"], reverse=newest)[0]


def _open(page, url, sid):
    page.goto(f"{url}/studies/{sid}")
    page.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)


def _upload(page, url, tmp_path, pid, seed, category, date):
    """Import one simulated study through the worklist; return its row."""
    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    scan = simulate_study(seed, category=category,
                          params=SimulationParams(matrix_weights=(1.0, 0.0))).scan
    scan = dataclasses.replace(
        scan, patient=dataclasses.replace(scan.patient, patient_id=pid, name="Station^Test"),
        study=dataclasses.replace(scan.study, study_date=date))
    path = tmp_path / f"{pid}.dcm"
    write_nm(scan, path)
    page.goto(url + "/worklist")
    page.set_input_files("#upload-files", str(path))
    page.wait_for_selector("#upload-message.ok", timeout=TIMEOUT_MS)
    for _ in range(300):
        row = [r for r in _rows(page, url) if r["patient_id"] == pid]
        if row and row[0]["status"] == "scored":
            return row[0]
        page.wait_for_timeout(200)
    raise AssertionError(f"{pid} was not scored")


def _canvas_pixels(page, points):
    """RGBA of the anterior canvas at display points [(x, y)] (css px)."""
    return page.evaluate("""(pts) => {
        const c = document.querySelector('canvas[data-view=anterior]');
        const dpr = window.devicePixelRatio || 1;
        const ctx = c.getContext('2d');
        return pts.map(([x, y]) => Array.from(
            ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data));
    }""", points)


def _interior_points(page, label, n=60):
    """Display points well inside segment ``label`` (1-based) of the anterior panel, away
    from lesions and findings."""
    return page.evaluate("""([label, n]) => {
        const v = document.getElementById('viewer').mibgViewer;
        const p = v.panels[0], m = p.segMap, C = p.cols, R = p.rows;
        const out = [];
        for (let r = 4; r < R - 4 && out.length < 4000; r += 2) for (let c = 4; c < C - 4; c += 2) {
            let ok = true;
            for (let dr = -3; dr <= 3 && ok; dr++) for (let dc = -3; dc <= 3 && ok; dc++)
                if (m[(r + dr) * C + c + dc] !== label) ok = false;
            if (!ok) continue;
            const near = [...v.lesions, ...v.findings].some(
                l => Math.hypot(l.row - r, l.col - c) < 14);
            if (!near) { const d = v.toDisplay(p, r, c); out.push([d.x, d.y]); }
        }
        const step = Math.max(1, Math.floor(out.length / n));
        return out.filter((_, i) => i % step === 0).slice(0, n);
    }""", [label, n])


def test_sign_and_amend_buttons_follow_the_state(demo_server, hd, tmp_path):
    """`hidden` wins over `button {display: inline-block}`: Sign only on an unsigned reading,
    Amend only on a signed one."""
    url, password, _data = demo_server
    login(hd, url, password)
    wait_all_scored(hd, 5)
    row = _upload(hd, url, tmp_path, "BTN-001", 42, "normal", dt.date(2024, 6, 1))
    _open(hd, url, row["id"])
    assert hd.locator("#sign").is_visible() and not hd.locator("#amend").is_visible()
    assert hd.evaluate("() => getComputedStyle(document.getElementById('amend')).display") \
        == "none"
    hd.click("#sign")
    hd.click("#sign-ok")
    hd.wait_for_selector("#status-badge.status-signed")
    assert not hd.locator("#sign").is_visible(), "Sign is still shown on a signed study"
    assert hd.locator("#amend").is_visible()
    hd.reload()
    hd.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    assert not hd.locator("#sign").is_visible() and hd.locator("#amend").is_visible()
    assert not hd.errors, hd.errors


def test_nothing_selected_on_opening_and_the_selection_is_an_outline(demo_server, hd):
    url, password, _data = demo_server
    login(hd, url, password)
    row = _demo(hd, url, "DEMO-003")
    _open(hd, url, row["id"])
    assert hd.locator("#siopen-body tr.selected").count() == 0
    assert hd.evaluate("() => document.getElementById('viewer').mibgViewer.highlight") == 0
    # the skull's uptake under the selection is drawn exactly as without the segment map
    hd.evaluate("""() => { const v = document.getElementById('viewer').mibgViewer;
        v.check = new Set(); v.showLesions = false; v.showFindings = false; v.draw(); }""")
    points = _interior_points(hd, 1)
    assert len(points) >= 20, points
    hd.keyboard.press("ArrowDown")   # selects the skull
    assert hd.locator("#siopen-body tr.selected").get_attribute("data-segment") == "skull"
    selected = _canvas_pixels(hd, points)
    hd.uncheck("#show-segments")
    plain = _canvas_pixels(hd, points)
    same = sum(a == b for a, b in zip(selected, plain, strict=True))
    assert same == len(points), f"{len(points) - same} of {len(points)} skull pixels tinted"


def test_evidence_legend_confidence_and_normal_uptake(demo_server, hd, screenshot):
    url, password, _data = demo_server
    login(hd, url, password)
    row = _demo(hd, url, "DEMO-003")
    _open(hd, url, row["id"])
    st = hd.request.get(f"{url}/api/studies/{row['id']}").json()
    legend = hd.inner_text("#legend")
    for words in ("focal lesion", "diffuse involvement", "normal uptake", "segment to check",
                  "rejected", "added by the reader"):
        assert words in legend, legend
    assert st["check"], "the extensive demo study has segments to check"
    for key in st["check"]:
        tr = hd.locator(f"#siopen-body tr[data-segment={key}]")
        assert "check" in (tr.get_attribute("class") or "")
        assert tr.locator(".check-flag").is_visible()
        conf = round(100 * st["confidence"][key])
        assert tr.locator(".conf").inner_text() == str(conf)
    hd.keyboard.press("ArrowDown")
    hd.keyboard.press("ArrowDown")   # thoracic cage: its lesions listed, its outline drawn
    hd.wait_for_timeout(200)
    screenshot(hd, "web_viewer.png")
    labels = hd.evaluate(
        "() => document.getElementById('viewer').mibgViewer.findings.map(f => f.text)")
    assert "liver" in labels and "injection site" in labels
    assert hd.evaluate("() => document.getElementById('viewer').mibgViewer.showFindings")
    hd.keyboard.press("u")
    assert not hd.is_checked("#show-findings")
    # diffuse involvement is drawn as its region: the viewer holds its runs
    runs = hd.request.get(f"{url}/api/studies/{row['id']}/diffuse").json()["runs"]
    assert len(runs) > 50


def _lesion_display(page, lesion_id):
    return page.evaluate("""(id) => { const v = document.getElementById('viewer').mibgViewer;
        const p = v.panels[0]; const l = v.lesions.find(x => x.id === id);
        const d = v.toDisplay(p, l.row, l.col); const b = p.canvas.getBoundingClientRect();
        return [b.left + d.x, b.top + d.y]; }""", lesion_id)


def test_reject_add_and_paint_at_the_lesion_recompute_both_scores(demo_server, hd, screenshot):
    url, password, _data = demo_server
    login(hd, url, password)
    row = _demo(hd, url, "DEMO-003")
    _open(hd, url, row["id"])
    st = hd.request.get(f"{url}/api/studies/{row['id']}").json()
    focal = [x for x in st["lesions"] if x["kind"] == "focal" and not x["rejected"]]
    target = focal[0]
    x, y = _lesion_display(hd, target["id"])
    hd.mouse.click(x, y)
    hd.wait_for_selector("#lesion-menu:not([hidden])")
    assert f"#{target['id']}" in hd.inner_text("#lesion-menu")
    screenshot(hd, "web_lesion_edit.png")
    hd.click("#lesion-menu button[data-reason=artefact]")
    hd.wait_for_selector(f"#lesion-list li.rejected[data-lesion='{target['id']}']")
    after = hd.request.get(f"{url}/api/studies/{row['id']}").json()
    lesion = [x for x in after["lesions"] if x["id"] == target["id"]][0]
    assert lesion["rejected"] == "artefact"
    # the server recomputed both: the page shows its totals, and Curie followed SIOPEN
    assert hd.inner_text("#siopen-total") == str(after["siopen_total"])
    assert hd.inner_text("#curie-total") == str(after["curie_total"])
    assert after["siopen"][target["siopen"]] <= st["siopen"][target["siopen"]]
    if target["curie"]:
        assert after["curie"][target["curie"]] <= st["curie"][target["curie"]]
    assert after["history"][-1]["action"] == "lesion"
    # add the focus back where the lesion was: F, click
    hd.keyboard.press("f")
    assert hd.get_attribute("#viewer", "data-mode") == "focus"
    hd.mouse.click(x, y)
    for _ in range(50):
        now = hd.request.get(f"{url}/api/studies/{row['id']}").json()
        if any(x["source"] == "reader" for x in now["lesions"]):
            break
        hd.wait_for_timeout(100)
    added = [x for x in now["lesions"] if x["source"] == "reader"]
    assert added and added[0]["siopen"] == target["siopen"], added
    assert now["siopen"] == st["siopen"], "a focus put back gives the grades back"
    hd.keyboard.press("Escape")
    # paint diffuse involvement over the pelvis: D, drag
    hd.keyboard.press("d")
    px = _interior_points(hd, 4, n=400)
    xs = sorted(px, key=lambda p: (p[1], p[0]))
    box = hd.locator("canvas[data-view=anterior]").bounding_box()
    hd.mouse.move(box["x"] + xs[0][0], box["y"] + xs[0][1])
    hd.mouse.down()
    for p in xs[::3]:
        hd.mouse.move(box["x"] + p[0], box["y"] + p[1])
    hd.mouse.up()
    for _ in range(50):
        painted = hd.request.get(f"{url}/api/studies/{row['id']}").json()
        if any(x["kind"] == "diffuse" and x["source"] == "reader" for x in painted["lesions"]):
            break
        hd.wait_for_timeout(100)
    region = [x for x in painted["lesions"] if x["kind"] == "diffuse" and x["source"] == "reader"]
    assert region and "pelvis" in region[0]["siopen_fractions"], region
    assert painted["siopen"]["pelvis"] >= 4 and painted["curie"]["pelvis"] >= 2
    hd.keyboard.press("Escape")
    assert not hd.errors, hd.errors


def test_worklist_says_what_needs_doing(demo_server, hd, screenshot):
    url, password, _data = demo_server
    login(hd, url, password)
    wait_all_scored(hd, 5)
    hd.wait_for_timeout(300)
    rows = hd.locator("#worklist-body tr.study-row")
    names = rows.locator("td:first-child").all_inner_texts()
    assert "Followup, Demo" in names and not any("^" in n for n in names)
    data = _rows(hd, url)
    todo = [r["todo"] for r in data]
    assert todo == sorted(todo, key=lambda t: {"read": 0, "sign": 1, "": 5}.get(t, 3)), todo
    for r in data:
        cell = hd.locator(f"#worklist-body tr[data-study='{r['id']}'] td").nth(8)
        if r["read"]:
            assert "strong" in cell.get_attribute("class") and cell.inner_text() == str(
                r["siopen_total"])
        else:
            assert cell.inner_text() == f"auto {r['siopen_total']}"
            assert "strong" not in cell.get_attribute("class")
        link = hd.locator(f"#worklist-body tr[data-study='{r['id']}'] .followup-link")
        assert link.count() == (1 if r["prior_id"] else 0), r
    baseline = _demo(hd, url, "DEMO-004", newest=False)
    assert baseline["prior_id"] is None
    screenshot(hd, "web_worklist.png")


def test_french_words_and_follow_up_pairing(demo_server, hd, screenshot):
    url, password, _data = demo_server
    login(hd, url, password)
    current = _demo(hd, url, "DEMO-004")
    hd.goto(f"{url}/studies/{current['id']}/followup")
    hd.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    comp = hd.request.get(f"{url}/api/studies/{current['id']}/followup").json()
    pairing = comp["lesions"]
    assert sum(pairing["total"].values()) >= 1
    assert hd.inner_text("#pair-resolved") == str(pairing["total"]["resolved"])
    assert hd.inner_text("#pair-persisting") == str(pairing["total"]["persisting"])
    prior_ids = {x["id"] for x in hd.request.get(
        f"{url}/api/studies/{comp['prior']['id']}").json()["lesions"] if not x["rejected"]}
    assert {p["prior"]["id"] for p in pairing["pairs"] if p["prior"]} == prior_ids
    canvases = hd.locator("#viewer canvas")
    assert canvases.count() == 4
    screenshot(hd, "web_followup_pairing.png")
    # French
    hd.goto(url + "/worklist")
    with hd.expect_navigation():
        hd.select_option("#language-select", "fr")
    try:
        hd.goto(f"{url}/studies/{current['id']}/followup")
        hd.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
        text = hd.inner_text("body")
        assert "Antérieur " not in text.replace("Antérieure", "")
        assert "Précédent" in text and "Suivi des lésions" in text
        _open(hd, url, current["id"])
        keys = hd.inner_text(".keys")
        assert keys.startswith("Touches") and "Ctrl+Entrée signer" in keys
        assert "fixation normale" in hd.inner_text("#legend")
        hd.keyboard.press("ArrowDown")
        hd.wait_for_timeout(200)
        screenshot(hd, "web_viewer_fr.png")
    finally:
        with hd.expect_navigation():
            hd.select_option("#language-select", "en")


def test_followup_hover_names_the_segment(demo_server, hd):
    url, password, _data = demo_server
    login(hd, url, password)
    current = _demo(hd, url, "DEMO-004")
    hd.goto(f"{url}/studies/{current['id']}/followup")
    hd.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    # the 3rd panel is the current scan's anterior view: hover its first lesion
    x, y, key = hd.evaluate("""() => { const v = document.getElementById('viewer').mibgViewer;
        const p = v.panels[2]; const l = p.ownLesions[0];
        const d = v.toDisplay(p, l.row, l.col); const b = p.canvas.getBoundingClientRect();
        return [b.left + d.x, b.top + d.y, l.siopen]; }""")
    hd.mouse.move(x, y)
    title = hd.locator("#viewer canvas").nth(2).get_attribute("title") or ""
    readout = hd.inner_text("#readout")
    assert title.startswith("#"), title
    assert key not in title and key not in readout, (title, readout)


def test_everything_reachable_at_1366x768(demo_server, browser, screenshot):
    url, password, _data = demo_server
    context = browser.new_context(viewport=SMALL)
    pg = context.new_page()
    try:
        login(pg, url, password)
        row = _demo(pg, url, "DEMO-003")
        _open(pg, url, row["id"])
        pg.keyboard.press("ArrowDown")
        for sel in ("#sign", "#accept-all", "#siopen-total", "#mode-focus", "#mode-paint",
                    "#presets button", "#legend", "#siopen-body tr[data-segment=skull]",
                    "#siopen-body tr[data-segment=left_lower_limb_distal]"):
            b = pg.locator(sel).first.bounding_box()
            assert b and b["y"] >= 0 and b["y"] + b["height"] <= SMALL["height"] and \
                b["x"] + b["width"] <= SMALL["width"], f"{sel} outside 1366 x 768: {b}"
        # choosing the last segment by keyboard keeps the score panel's Sign row in view
        for _ in range(11):
            pg.keyboard.press("ArrowDown")
        b = pg.locator("#sign").bounding_box()
        assert b["y"] + b["height"] <= SMALL["height"]
        assert pg.evaluate("() => document.scrollingElement.scrollTop") == 0
        screenshot(pg, "web_viewer_1366.png")
    finally:
        context.close()


def test_keyboard_only_reading_of_every_demo_study(demo_server, hd, screenshot, tmp_path,
                                                    capsys):
    """Open, (correct one segment,) sign, keys only: accept-and-sign in at most 3 actions,
    one correction in at most 5; the times are printed for the closing note."""
    url, password, _data = demo_server
    login(hd, url, password)
    wait_all_scored(hd, 5)
    # a study to accept and sign as proposed, first on the worklist (newest study to read)
    extra = _upload(hd, url, tmp_path, "KEY-ACCEPT", 41, "limited", dt.date(2026, 1, 5))
    timings = []

    def act(key):
        actions.append(key)
        hd.keyboard.press(key)

    # 1. accept and sign: Enter on the worklist's first row, Ctrl+Enter, Enter
    hd.goto(url + "/worklist")
    hd.wait_for_selector(f"#worklist-body tr.study-row[data-study='{extra['id']}']:focus")
    actions: list[str] = []
    t0 = time.perf_counter()
    with hd.expect_navigation():
        act("Enter")
    hd.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
    act("Control+Enter")
    hd.wait_for_selector("#sign-dialog[open]")
    act("Enter")
    hd.wait_for_selector("#status-badge.status-signed")
    timings.append(("KEY-ACCEPT (accept and sign)", time.perf_counter() - t0, len(actions)))
    assert len(actions) <= 3, actions
    signed = hd.request.get(f"{url}/api/studies/{extra['id']}").json()
    assert signed["siopen"] == signed["auto"]["siopen"]["segments"]
    # 2. every study still to read or sign (the demo studies among them): N (next study),
    # ↓ (skull), a grade, Ctrl+Enter, Enter
    todo = [r for r in _rows(hd, url) if r["todo"] in ("read", "sign")]
    assert any(r["patient_id"].startswith("DEMO") for r in todo), todo
    for _ in todo:
        actions = []
        t0 = time.perf_counter()
        with hd.expect_navigation():
            act("n")
        hd.wait_for_selector("body[data-viewer-ready]", timeout=TIMEOUT_MS)
        sid = int(hd.url.rstrip("/").split("/")[-1])
        st = hd.request.get(f"{url}/api/studies/{sid}").json()
        skull = st["siopen"]["skull"]
        grade = 0 if skull else 1
        act("ArrowDown")
        act(str(grade))
        hd.wait_for_selector(
            f"#siopen-body tr[data-segment=skull] button.g.on[data-grade='{grade}']")
        act("Control+Enter")
        hd.wait_for_selector("#sign-dialog[open]")
        act("Enter")
        hd.wait_for_selector("#status-badge.status-signed")
        seconds = time.perf_counter() - t0
        after = hd.request.get(f"{url}/api/studies/{sid}").json()
        timings.append((f"{st['patient_id']} {st['study_date']} (skull {skull} -> {grade})",
                        seconds, len(actions)))
        assert len(actions) <= 5, actions
        assert after["siopen"]["skull"] == grade and after["status"] == "signed"
        # SIOPEN skull and Curie head are the same bones: they never contradict each other
        assert after["curie"]["head"] == (0 if grade == 0 else 1), after["curie"]
    rows = _rows(hd, url)
    assert all(r["status"] in ("signed", "amended") for r in rows), rows
    measured = {name.split(" (")[0] for name, _s, _n in timings}
    demo = {f"{r['patient_id']} {r['study_date']}" for r in rows
            if r["patient_id"].startswith("DEMO")}
    assert demo <= measured, f"demo studies not read by keyboard: {demo - measured}"
    with capsys.disabled():
        print("\nkeyboard-only reading (Chromium, 1920 x 1080, from the first key to 'signed'):")
        for name, seconds, n in timings:
            print(f"  {name}: {seconds:.2f} s, {n} actions")
