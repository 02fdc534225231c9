#!/usr/bin/env python3
"""The timeline pages in a real browser: Debian's chromium, headless.

    timeline_browser.py WEFT NEWS_FEED OUTDIR

1. Traces the news feed example (WEFT_TRACE: its loop and its embedded server's), draws the traces with
   `weft trace view`, loads the page, and checks the DOM against the traces: one worker lane per track
   that has runs or marks, one bar per run slice, one row per task, one arrow per wake between two
   drawn tasks; and that the page's script ran without an error.
2. Runs `weft demo --timeline`, loads its page: a row per section and per workload of the three modes,
   four panels side by side in each of those, every section with a lane and task rows, no script error.
   Takes a screenshot of it (OUTDIR/demo-timeline.png).
"""
import glob
import html.parser
import json
import os
import subprocess
import sys


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


class dom(html.parser.HTMLParser):
    """The elements of a serialized DOM, each as (tag, attributes, the classes of its ancestors)."""

    def __init__(self, text):
        super().__init__()
        self.elements = []
        self.stack = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        inherited = set().union(*[c for _, c in self.stack]) if self.stack else set()
        self.elements.append((tag, a, classes, inherited))
        if tag not in ("input", "meta", "br", "img", "line", "rect", "path"):
            self.stack.append((tag, classes))

    def handle_startendtag(self, tag, attrs):
        a = dict(attrs)
        inherited = set().union(*[c for _, c in self.stack]) if self.stack else set()
        self.elements.append((tag, a, set((a.get("class") or "").split()), inherited))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def count(self, *classes, within=None):
        return sum(1 for _, _, c, up in self.elements
                   if set(classes) <= c and (within is None or within in up))

    def body(self):
        return next(a for t, a, _, _ in self.elements if t == "body")


def chromium(*args):
    # --no-sandbox: CI runs as root, where chromium's sandbox will not start.
    cmd = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--user-data-dir=" + os.path.join(out, "chromium-profile")] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail("chromium %s: exit %d\n%s" % (" ".join(args), r.returncode, r.stderr[-2000:]))
    return r.stdout


def load(page):
    text = chromium("--virtual-time-budget=5000", "--dump-dom", "file://" + os.path.abspath(page))
    d = dom(text)
    body = d.body()
    if body.get("data-ready") != "1":
        fail("%s: the page's script did not finish (data-ready=%r)" % (page, body.get("data-ready")))
    if "data-errors" in body:
        fail("%s: %s script errors" % (page, body["data-errors"]))
    return d


def expected(paths):
    """What the page must draw for these traces, counted from the JSON as a viewer reads it."""
    lanes = runs = tasks = wakes = 0
    for p in paths:
        events = json.load(open(p))["traceEvents"]
        tracks = {e["tid"] for e in events if e["ph"] in ("X", "i")}
        lanes += len(tracks)
        runs += sum(1 for e in events if e["ph"] == "X")
        named = {e["id"] for e in events if e["ph"] == "b" and "parent" in e.get("args", {})}
        tasks += len(named)
        starts = {e["id"]: e["args"] for e in events if e["ph"] == "s" and e.get("cat") == "wake"}
        ends = {e["id"] for e in events if e["ph"] == "f" and e.get("cat") == "wake"}
        wakes += sum(1 for i, a in starts.items() if i in ends and a["waker"] in named and a["woken"] in named)
    return lanes, runs, tasks, wakes


weft, news_feed, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
for old in glob.glob(os.path.join(out, "feed*.json")):
    os.remove(old)

# 1. Any trace, through `weft trace view`.
trace = os.path.join(out, "feed.json")
subprocess.run([news_feed], check=True, timeout=60, stdout=subprocess.DEVNULL,
               env=dict(os.environ, WEFT_TRACE=trace))
traces = sorted(glob.glob(os.path.join(out, "feed*.json")))
if len(traces) != 2:
    fail("the news feed wrote %s, not two traces (its loop's and its server's)" % traces)
page = os.path.join(out, "feed.html")
subprocess.run([weft, "trace", "view"] + traces + ["-o", page, "--max-task-rows", "1000"], check=True, timeout=60)
d = load(page)
lanes, runs, tasks, wakes = expected(traces)
got = (d.count("lane", "worker"), d.count("run", within="worker"), d.count("task-row"), d.count("wake"))
print("feed.html: lanes %d, run bars %d, task rows %d, wake arrows %d (the traces: %d, %d, %d, %d)" %
      (got + (lanes, runs, tasks, wakes)))
if got != (lanes, runs, tasks, wakes):
    fail("the page's lanes, bars, task rows and arrows %s differ from the traces' %s" % (got, (lanes, runs, tasks, wakes)))
# (Wake arrows join a task to the one that woke it; on a loaded machine several of the feed's responses
# can land in one turn, so that fewer tasks wake each other: 4 were seen under TSan beside a build.)
if runs < 20 or wakes < 3:
    fail("a news feed of 7 requests made only %d runs and %d wakes" % (runs, wakes))
if d.body().get("data-lanes") != str(lanes):
    fail("the script counted %s lanes" % d.body().get("data-lanes"))
rows = [a.get("data-task") for t, a, c, _ in d.elements if "task-row" in c]
labels = {a.get("data-lane") for t, a, c, _ in d.elements if "worker" in c}
if labels != {"worker 0"}:
    fail("lanes named %s" % labels)

# A trace that is not one is refused with a reason, and writes no page.
bad = os.path.join(out, "not-a-trace.json")
with open(bad, "w") as f:
    f.write('{"hello": 1}')
r = subprocess.run([weft, "trace", "view", bad, "-o", os.path.join(out, "bad.html")], capture_output=True, text=True)
if r.returncode == 0 or "not a trace" not in r.stderr:
    fail("weft trace view on a non-trace: exit %d, %r" % (r.returncode, r.stderr))

# 2. The demo's own page.
demo_page = os.path.join(out, "demo-timeline.html")
r = subprocess.run([weft, "demo", "--timeline", demo_page], capture_output=True, text=True, timeout=120)
if r.returncode != 0 or "the timeline of this run" not in r.stdout:
    fail("weft demo --timeline: exit %d\n%s%s" % (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
d = load(demo_page)
sections = d.count("row")
panels_per_row = []
in_row = None
for t, a, c, up in d.elements:
    if "row" in c and t == "section":
        panels_per_row.append(0)
    elif "panel" in c and panels_per_row:
        panels_per_row[-1] += 1
print("demo-timeline.html: %d rows, panels %s, %d worker lanes, %d run bars, %d task rows" %
      (sections, panels_per_row, d.count("lane", "worker"), d.count("run", within="worker"), d.count("task-row")))
if panels_per_row != [1, 1, 1, 4, 4]:
    fail("the demo's page has rows of %s panels, not three sections and the three modes' two rows of four" % panels_per_row)
if d.count("task-row") < 7 + 5 + 5 or d.count("lane", "plain") < 2:
    fail("the demo's page lacks the requests' task rows or the plain-code lanes")
names = {t.get("data-task") for _, t, c, _ in d.elements if "task-row" in c}
if len(names) < 10:
    fail("task rows for only %d tasks" % len(names))

shot = os.path.join(out, "demo-timeline.png")
if os.path.exists(shot):
    os.remove(shot)
chromium("--window-size=1300,2300", "--screenshot=" + shot, "file://" + os.path.abspath(demo_page))
with open(shot, "rb") as f:
    png = f.read()
if not png.startswith(b"\x89PNG") or len(png) < 20000:
    fail("the screenshot is not a PNG of the page (%d bytes)" % len(png))
print("screenshot:", shot, len(png), "bytes")
print("PASS")
