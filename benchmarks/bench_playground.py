"""Frames per second of the playground, through the real HTTP stack, for the notebook's network.

``initlab serve`` runs in its own process; an HTTP client plays the page:
one ``POST /api/sessions/{id}/step`` after the other, each training ``k`` iterations and
returning a full frame — costs, accuracies, the 100×100 decision boundary, per-layer
histograms, diagnosis, theory — as the page requests them (one request in flight, ``since``
set so only new curve points come back). The circles data and ``[2, 10, 5, 1]`` ReLU network
of the notebook; 1 run (He) and the 4-run compare mode.

    frames/s = frames / wall seconds (median of ``--repeat`` trials of ``--frames`` frames)

The training speed is set against the plain-NumPy notebook loop measured in the same run:

    ratio = playground iterations/s while drawing / plain loop iterations/s

With ``--browser`` it also plays the real page in headless Chromium (Debian's chromium and
chromedriver, through Selenium) and reads the page's own frames/s counter, which includes
drawing every canvas; a browser paces its animation frames by the display, 60 per second.
Every frame carries each run's network diagram (every neuron's map, weights and histogram)
and the page draws it in every card: the table states frames/s for 1 run and for 4 runs side
by side (two cards a row in the 1,400 px window), and checks that each card's diagram was
drawn and how many cards share a row.

Two timings of a whole course's worth of iterations (15,000, ``--target``), the notebook's
network, 1 run (He) and the notebook's 3-run comparison (zeros, ×10 random, He), 4 runs stated
too:

- **reopen**: a shared link at iteration 15,000 reopened, as the page does it: ``GET
  /api/options``, ``POST /api/sessions``, then step requests of ``max_step`` iterations until
  15,000 (the page's ``fastForward``), the last frame received. With ``--browser``: headless
  Chromium loads ``/?…&it=15000`` and the time is the page's own clock (``performance.now()``
  from navigation start) when its iteration counter first shows 15000. Target ≤ 1 s.
- **play**: 15,000 iterations played at the page's default speed (iterations per frame, read
  from ``static/state.js``), one step request after the other, a full frame each; seconds
  and frames/s. With ``--browser``: Play pressed on the page and the page's clock read when
  its counter first passes 15,000; frames/s = frames drawn / seconds. Target ≤ 20 s at ≥ 30
  frames/s. ``--play-frames N`` plays only N frames and extrapolates the seconds (for a slow
  "before").

The page's frames/s is bounded by its request round trip and its drawing, which share the
machine with the server: on a 2-core machine that other work keeps busy, it falls well below
the display's 60 whatever the server does. Measure on a quiet machine, and say what else ran.

Run:  python benchmarks/bench_playground.py [--frames 200] [--repeat 5] [--browser] [--json]
      [--target 15000] [--course-repeat 3] [--play-frames N] [--speed K] [--skip-table]
      [--browser-seconds 5] [--browser-speeds 10 25 100]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np

import initlab
from bench_compare import notebook_loop
from initlab.datasets import circles
from initlab.web import frames
from initlab.web.app import STATIC
from initlab.web.config import Limits, parse_config
from initlab.web.session import Session, UploadStore


def serve() -> tuple[subprocess.Popen[str], str]:
    """``initlab serve`` in its own process, as a user runs it (a server thread in this
    process would share the GIL with the client and measure that contention instead)."""
    command = [sys.executable, "-c", "from initlab.cli import main; main()", "serve", "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().split()[2].rstrip("/")
    for _ in range(300):
        try:
            httpx.get(f"{url}/api/options")
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    return proc, url


def page_token(url: str) -> str:
    """The server's token, as the page reads it from its ``<meta name="initlab-token">``
    (``""`` where the server has none): state-changing requests send it in a header."""
    match = re.search(r'<meta name="initlab-token" content="([^"]*)"', httpx.get(f"{url}/").text)
    return match.group(1) if match else ""


def frames_per_second(client: httpx.Client, url: str, inits: list[str], k: int, n: int) -> float:
    config = {"inits": [{"name": name} for name in inits]}
    sid = client.post(f"{url}/api/sessions", json=config).json()["session"]
    since = 0
    start = time.perf_counter()
    for _ in range(n):
        frame = client.post(
            f"{url}/api/sessions/{sid}/step", json={"iterations": k, "since": since}
        ).json()
        since = frame["iteration"]
        assert frame["runs"][0]["boundary"]["size"] == 100
    elapsed = time.perf_counter() - start
    client.delete(f"{url}/api/sessions/{sid}")
    return n / elapsed


RUN_SETS = {
    "1 run": ["he"],
    "notebook 3 runs": ["zeros", "random", "he"],
    "4 runs": ["he", "zeros", "random", "xavier_uniform"],
}
"""The reopen and play cases: the notebook's He run, its comparison, and the 4-run maximum."""


def default_speed() -> int:
    """The page's default iterations per frame, read from ``static/state.js`` (set there once)."""
    text = (STATIC / "state.js").read_text(encoding="utf-8")
    match = re.search(r'name: "speed",[^}]*?default: (\d+)', text, re.S)
    assert match is not None, "no speed default in state.js"
    return int(match.group(1))


def session_config(inits: list[str]) -> dict[str, Any]:
    return {"inits": [{"name": name} for name in inits]}


def reopen_seconds(client: httpx.Client, url: str, inits: list[str], target: int) -> float:
    """Seconds to reopen a link at iteration ``target`` as the page does (options, a new
    session, step requests of ``max_step`` until the target), to the last frame received."""
    start = time.perf_counter()
    limits = client.get(f"{url}/api/options").json()["limits"]
    body = client.post(f"{url}/api/sessions", json=session_config(inits)).json()
    sid, iteration, since = body["session"], 0, 0
    while iteration < target:
        n = min(limits["max_step"], target - iteration)
        frame = client.post(
            f"{url}/api/sessions/{sid}/step", json={"iterations": n, "since": since}
        ).json()
        iteration = since = frame["iteration"]
    elapsed = time.perf_counter() - start
    client.delete(f"{url}/api/sessions/{sid}")
    return elapsed


def play_seconds(
    client: httpx.Client, url: str, inits: list[str], k: int, target: int, frames: int | None
) -> tuple[float, float]:
    """Seconds to play ``target`` iterations, ``k`` per frame (extrapolated from ``frames``
    frames if given), and the frames/s."""
    sid = client.post(f"{url}/api/sessions", json=session_config(inits)).json()["session"]
    wanted = -(-target // k) if frames is None else min(frames, -(-target // k))
    since, done = 0, 0
    start = time.perf_counter()
    while done < wanted:
        frame = client.post(
            f"{url}/api/sessions/{sid}/step", json={"iterations": k, "since": since}
        ).json()
        since, done = frame["iteration"], done + 1
    elapsed = time.perf_counter() - start
    client.delete(f"{url}/api/sessions/{sid}")
    fps = done / elapsed
    return -(-target // k) / fps, fps


WATCH_ITERATION = """
window.__bench = {times: [], values: []};
document.addEventListener("DOMContentLoaded", () => {
  const counter = document.getElementById("iteration");
  new MutationObserver(() => {
    window.__bench.times.push(performance.now());
    window.__bench.values.push(Number(counter.textContent));
  }).observe(counter, {childList: true, characterData: true, subtree: true});
});
"""
"""Installed in every page before its scripts: the page's clock (ms from navigation start)
each time its iteration counter changes, and the value shown."""


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium through Selenium (Debian's chromium and chromedriver), with
    :data:`WATCH_ITERATION` in every page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,1000"):  # fmt: skip
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        try:
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_ITERATION}
            )
            yield driver
        finally:
            driver.quit()


WAIT_S = 120
"""The longest any wait on the page may take before the benchmark gives up."""


def _open(driver: Any, url: str, view: list[tuple[str, Any]]) -> None:
    driver.get(f"{url}/?{urllib.parse.urlencode(view)}")
    deadline = time.monotonic() + WAIT_S
    while not driver.execute_script("return !!(window.initlab && window.initlab.ready)"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page was not ready within {WAIT_S} s")
        time.sleep(0.02)


def _first_at(
    driver: Any, target: int, after: float = 0.0, frames: int | None = None
) -> tuple[float, int, int]:
    """Wait until the page's counter shows ≥ ``target`` (or has changed ``frames`` times);
    the page's clock then (ms), the number of counter changes after ``after`` up to it and
    the value shown."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        watch = driver.execute_script("return window.__bench")
        shown = [(t, v) for t, v in zip(watch["times"], watch["values"]) if t >= after]
        for count, (t, value) in enumerate(shown, 1):
            if value >= target or count == frames:
                return t, count, value
        time.sleep(0.05)
    raise TimeoutError(f"the page did not show iteration {target} within {WAIT_S} s")


def browser_reopen_seconds(driver: Any, url: str, inits: list[str], target: int) -> float:
    """Seconds from navigation start to the page showing iteration ``target`` of a link."""
    _open(driver, url, [("init", name) for name in inits] + [("it", target)])
    at, _, _ = _first_at(driver, target)
    return at / 1e3


def browser_play(
    driver: Any, url: str, inits: list[str], target: int, frames: int | None, speed: int | None
) -> tuple[float, float]:
    """Seconds from pressing Play (at ``speed``, or the page's default) to the page showing
    ``target`` iterations (extrapolated from ``frames`` frames if given), and frames drawn
    per second meanwhile."""
    view = [("init", name) for name in inits] + ([("speed", speed)] if speed else [])
    _open(driver, url, view)
    start = driver.execute_script(
        "const t = performance.now(); document.getElementById('play').click(); return t;"
    )
    at, drawn, shown = _first_at(driver, target, after=start, frames=frames)
    driver.execute_script("document.getElementById('play').click();")  # pause
    seconds = (at - start) / 1e3
    return seconds * max(1.0, target / shown), drawn / seconds


LAYOUT = """
const cards = [...document.querySelectorAll('#runs section.run')];
const tops = cards.map((c) => Math.round(c.getBoundingClientRect().top));
return {diagrams: document.querySelectorAll('#runs .fig-network[data-drawn="true"]').length,
        per_row: tops.filter((t) => t === tops[0]).length, cards: cards.length};
"""
"""How many cards drew their network diagram, and how many share the first row."""


def browser_layout(driver: Any, url: str, inits: list[str]) -> dict[str, int]:
    """The page's cards for ``inits``: diagrams drawn, cards in the first row, cards."""
    _open(driver, url, [("init", name) for name in inits])
    return dict(driver.execute_script(LAYOUT))


def browser_frames_per_second(
    driver: Any, url: str, inits: list[str], k: int, seconds: float
) -> tuple[float, float, float]:
    """The page's frames/s counter (frames completed in the last second), and the last
    frame's request round trip and drawing time in ms: medians of reads once a second."""
    _open(driver, url, [("init", name) for name in inits] + [("speed", k)])
    driver.find_element("id", "play").click()
    time.sleep(1.5)
    reads, request_ms, render_ms = [], [], []
    for _ in range(int(seconds)):
        time.sleep(1.0)
        reads.append(driver.execute_script("return window.initlab.fps"))
        timing = driver.execute_script("return window.initlab.timing")
        request_ms.append(timing["requestMs"])
        render_ms.append(timing["renderMs"])
    driver.find_element("id", "play").click()  # pause
    return (
        float(statistics.median(reads)),
        statistics.median(request_ms),
        statistics.median(render_ms),
    )


def in_process_breakdown(k: int, n: int) -> dict[str, float]:
    """Milliseconds per frame spent training, computing the frame and encoding it (no HTTP)."""
    limits = Limits()
    session = Session("bench", parse_config({}, limits), limits, UploadStore(limits))
    session.step(k)  # warm-up: the compiled engine loaded from its disk cache
    train_s = frame_s = encode_s = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        session.step(k)
        t1 = time.perf_counter()
        f = frames.frame(session, since=session.iteration - 1)
        t2 = time.perf_counter()
        json.dumps(f)
        t3 = time.perf_counter()
        train_s, frame_s, encode_s = train_s + t1 - t0, frame_s + t2 - t1, encode_s + t3 - t2
    return {"train_ms": 1e3 * train_s / n, "frame_ms": 1e3 * frame_s / n,
            "json_ms": 1e3 * encode_s / n}  # fmt: skip


def plain_loop_iterations_per_second(iterations: int = 3000) -> float:
    data = circles()
    X, Y = data.X_train.T, data.y_train.reshape(1, -1).astype(np.float64)
    start = time.perf_counter()
    notebook_loop(X, Y, "he", iterations)
    return iterations / (time.perf_counter() - start)


def course_rows(
    client: httpx.Client, url: str, args: argparse.Namespace, speed: int
) -> list[dict[str, Any]]:
    """Reopen and play times of the course's iterations over HTTP, per run set (medians)."""
    rows = []
    for name, inits in RUN_SETS.items():
        reopen, play, fps = [], [], []
        for _ in range(args.course_repeat):
            reopen.append(reopen_seconds(client, url, inits, args.target))
            seconds, rate = play_seconds(client, url, inits, speed, args.target, args.play_frames)
            play.append(seconds)
            fps.append(rate)
        rows.append(_course_row(name, reopen, play, fps, args))
    return rows


def _course_row(
    name: str, reopen: list[float], play: list[float], fps: list[float], args: argparse.Namespace
) -> dict[str, Any]:
    """One run set's medians of the course's reopen and play trials."""
    return {
        "runs": name,
        "reopen_s": round(statistics.median(reopen), 3),
        "play_s": round(statistics.median(play), 2),
        "play_frames_per_s": round(statistics.median(fps), 1),
        "play_extrapolated": args.play_frames is not None,
    }


def browser_course_rows(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Reopen and play times of the course's iterations in Chromium, per run set (medians)."""
    rows = []
    with chromium() as driver:
        browser_reopen_seconds(driver, url, ["he"], 100)  # warm-up: page files cached
        for name, inits in RUN_SETS.items():
            reopen, play, fps = [], [], []
            for _ in range(args.course_repeat):
                reopen.append(browser_reopen_seconds(driver, url, inits, args.target))
                seconds, rate = browser_play(
                    driver, url, inits, args.target, args.play_frames, args.speed
                )
                play.append(seconds)
                fps.append(rate)
            rows.append(_course_row(name, reopen, play, fps, args))
    return rows


def frame_rate_rows(client: httpx.Client, url: str, args: argparse.Namespace) -> list[Any]:
    """Frames/s over HTTP per run count and frame size, against the plain loop (interleaved)."""
    rows = []
    frames_per_second(client, url, ["he"], 10, 20)  # warm-up
    for inits in (["he"], RUN_SETS["4 runs"]):
        for k in (1, 10, 25, 100):
            trials, plain = [], []
            for _ in range(args.repeat):  # interleaved: the VM's speed drifts
                trials.append(frames_per_second(client, url, inits, k, args.frames))
                plain.append(plain_loop_iterations_per_second())
            fps = statistics.median(trials)
            plain_its = statistics.median(plain)
            rows.append(
                {
                    "runs": len(inits),
                    "iterations_per_frame": k,
                    "frames_per_s": round(fps, 1),
                    "frames_per_s_min": round(min(trials), 1),
                    "iterations_per_s_per_run": round(fps * k),
                    "plain_loop_iterations_per_s": round(plain_its),
                    "ratio_vs_plain_loop": round(fps * k * len(inits) / plain_its, 3),
                }
            )
    return rows


def print_results(results: dict[str, Any]) -> None:
    print(f"initlab {results['initlab']} · Python {results['python']} · NumPy {results['numpy']}")
    print(f"{results['network']}, boundary grid {results['grid']}, through HTTP (uvicorn)\n")
    print(f"{results['target']:,} iterations; default speed {results['speed']} iterations/frame")
    for where in ("course_http", "course_browser"):
        for r in results.get(where, []):
            extra = " (extrapolated)" if r.get("play_extrapolated") else ""
            print(f"  {where.removeprefix('course_'):>7} {r['runs']:>16}: reopen "
                  f"{r['reopen_s']:.3f} s (target ≤ 1 s), play {r['play_s']:.2f} s{extra} at "
                  f"{r['play_frames_per_s']} frames/s (target ≤ 20 s at ≥ 30)")  # fmt: skip
    rows = results.get("http", [])
    if rows:
        print(f"\n{'runs':>4} {'it/frame':>8} {'frames/s':>9} {'(min)':>7} {'it/s/run':>9} "
              f"{'plain it/s':>10} {'ratio':>6}")  # fmt: skip
    for r in rows:
        print(f"{r['runs']:>4} {r['iterations_per_frame']:>8} {r['frames_per_s']:>9} "
              f"{r['frames_per_s_min']:>7} {r['iterations_per_s_per_run']:>9} "
              f"{r['plain_loop_iterations_per_s']:>10} {r['ratio_vs_plain_loop']:>6}")  # fmt: skip
    for r in results.get("browser", []):
        layout = (f"{r['runs']} runs side by side ({r['cards_per_row']} a row)"
                  if r["runs"] > 1 else "1 run")  # fmt: skip
        drawn = "diagram drawn" if r["diagrams_drawn"] == r["runs"] else "DIAGRAM MISSING"
        print(f"Chromium page, {layout}, {drawn}, {r['iterations_per_frame']} it/frame: "
              f"{r['frames_per_s']} frames/s (request {r['request_ms']} ms, "
              f"drawing {r['render_ms']} ms)")  # fmt: skip
    b = results["breakdown_k10_one_run"]
    print(f"\nOne frame of 10 iterations, 1 run, in process: {b}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--browser", action="store_true", help="also play the page in Chromium")
    parser.add_argument("--target", type=int, default=15_000, help="the course's iterations")
    parser.add_argument("--course-repeat", type=int, default=3, help="reopen/play trials")
    parser.add_argument("--play-frames", type=int, help="play only this many frames")
    parser.add_argument("--skip-table", action="store_true", help="no frames/s table")
    parser.add_argument("--speed", type=int, help="play at this speed, not the page's default")
    parser.add_argument("--browser-seconds", type=int, default=5,
                        help="seconds of frames/s reads per browser case")  # fmt: skip
    parser.add_argument("--browser-speeds", type=int, nargs="+", default=[10, 25, 100],
                        help="iterations per frame of the browser table")  # fmt: skip
    args = parser.parse_args()

    server, url = serve()
    speed = args.speed or default_speed()
    results: dict[str, Any] = {
        "initlab": initlab.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "grid": "100x100",
        "network": "[2, 10, 5, 1] relu, circles (notebook data)",
        "target": args.target,
        "speed": speed,
    }
    # Like a browser, the client disables Nagle's algorithm: otherwise a POST's body waits
    # for the ACK of its headers, which the server delays by 40 ms (TCP delayed ACK).
    nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    headers = {"X-Initlab-Token": page_token(url)}
    try:
        with httpx.Client(timeout=120, transport=nodelay, headers=headers) as client:
            reopen_seconds(client, url, ["he"], 100)  # warm-up: the engine loaded
            results["course_http"] = course_rows(client, url, args, speed)
            if not args.skip_table:
                results["http"] = frame_rate_rows(client, url, args)
        if args.browser:
            results["course_browser"] = browser_course_rows(url, args)
            if not args.skip_table:
                results["browser"] = []
                with chromium() as driver:
                    for inits in (["he"], RUN_SETS["4 runs"]):
                        layout = browser_layout(driver, url, inits)
                        for k in args.browser_speeds:
                            fps, request_ms, render_ms = browser_frames_per_second(
                                driver, url, inits, k, args.browser_seconds
                            )
                            results["browser"].append(
                                {"runs": len(inits), "iterations_per_frame": k,
                                 "frames_per_s": fps, "request_ms": round(request_ms, 1),
                                 "render_ms": round(render_ms, 1),
                                 "diagrams_drawn": layout["diagrams"],
                                 "cards_per_row": layout["per_row"]}
                            )  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    results["breakdown_k10_one_run"] = {
        key: round(v, 3) for key, v in in_process_breakdown(10, args.frames).items()
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_results(results)


if __name__ == "__main__":
    main()
