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

Run:  python benchmarks/bench_playground.py [--frames 200] [--repeat 5] [--browser] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import subprocess
import sys
import time

import httpx
import numpy as np

import initlab
from bench_compare import notebook_loop
from initlab.datasets import circles
from initlab.web import frames
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


def browser_frames_per_second(
    url: str, inits: list[str], k: int, seconds: float
) -> tuple[float, float, float]:
    """The page's frames/s counter (frames completed in the last second), and the last
    frame's request round trip and drawing time in ms: medians of reads once a second."""
    import tempfile
    import urllib.parse

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
            query = urllib.parse.urlencode([("init", name) for name in inits] + [("speed", k)])
            driver.get(f"{url}/?{query}")
            while not driver.execute_script("return !!(window.initlab && window.initlab.ready)"):
                time.sleep(0.05)
            driver.find_element("id", "play").click()
            time.sleep(1.5)
            reads, request_ms, render_ms = [], [], []
            for _ in range(int(seconds)):
                time.sleep(1.0)
                reads.append(driver.execute_script("return window.initlab.fps"))
                timing = driver.execute_script("return window.initlab.timing")
                request_ms.append(timing["requestMs"])
                render_ms.append(timing["renderMs"])
            return (
                float(statistics.median(reads)),
                statistics.median(request_ms),
                statistics.median(render_ms),
            )
        finally:
            driver.quit()


def in_process_breakdown(k: int, n: int) -> dict[str, float]:
    """Milliseconds per frame spent training, computing the frame and encoding it (no HTTP)."""
    limits = Limits()
    session = Session("bench", parse_config({}, limits), limits, UploadStore(limits))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--browser", action="store_true", help="also play the page in Chromium")
    args = parser.parse_args()

    server, url = serve()
    results: dict[str, object] = {
        "initlab": initlab.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "grid": "100x100",
        "network": "[2, 10, 5, 1] relu, circles (notebook data)",
    }
    rows = []
    # Like a browser, the client disables Nagle's algorithm: otherwise a POST's body waits
    # for the ACK of its headers, which the server delays by 40 ms (TCP delayed ACK).
    nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    with httpx.Client(timeout=60, transport=nodelay) as client:
        frames_per_second(client, url, ["he"], 10, 20)  # warm-up
        for inits in (["he"], ["he", "zeros", "random", "xavier_uniform"]):
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
    if args.browser:
        results["browser"] = []
        for inits in (["he"], ["he", "zeros", "random", "xavier_uniform"]):
            for k in (10, 25, 100):
                fps, request_ms, render_ms = browser_frames_per_second(url, inits, k, 5)
                results["browser"].append(
                    {"runs": len(inits), "iterations_per_frame": k, "frames_per_s": fps,
                     "request_ms": round(request_ms, 1), "render_ms": round(render_ms, 1)}
                )  # fmt: skip
    server.terminate()
    server.wait()
    results["http"] = rows
    results["breakdown_k10_one_run"] = {
        key: round(v, 3) for key, v in in_process_breakdown(10, args.frames).items()
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"initlab {results['initlab']} · Python {results['python']} · NumPy {results['numpy']}")
    print(f"{results['network']}, boundary grid {results['grid']}, through HTTP (uvicorn)\n")
    print(f"{'runs':>4} {'it/frame':>8} {'frames/s':>9} {'(min)':>7} {'it/s/run':>9} "
          f"{'plain it/s':>10} {'ratio':>6}")  # fmt: skip
    for r in rows:
        print(f"{r['runs']:>4} {r['iterations_per_frame']:>8} {r['frames_per_s']:>9} "
              f"{r['frames_per_s_min']:>7} {r['iterations_per_s_per_run']:>9} "
              f"{r['plain_loop_iterations_per_s']:>10} {r['ratio_vs_plain_loop']:>6}")  # fmt: skip
    for r in results.get("browser", []):  # type: ignore[union-attr]
        print(f"Chromium page, {r['runs']} run(s), {r['iterations_per_frame']} it/frame: "
              f"{r['frames_per_s']} frames/s (request {r['request_ms']} ms, "
              f"drawing {r['render_ms']} ms)")  # fmt: skip
    b = results["breakdown_k10_one_run"]
    print(f"\nOne frame of 10 iterations, 1 run, in process: {b}")


if __name__ == "__main__":
    main()
