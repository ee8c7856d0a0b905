"""The benchmark's load generators (bench/load.py) send exactly the requests they are given and
count what was answered: wrk (when installed) and the Python threads, against a small server
that records what reached it."""
from __future__ import annotations

import json
import shutil
import threading
from collections import Counter

import pytest
from flask import Flask, jsonify, request

from bench import load

from .conftest import served


def recording_app():
    app = Flask("recording")
    seen: Counter = Counter()
    lock = threading.Lock()

    @app.route("/t/<int:number>", methods=["GET", "POST"])
    def answer(number: int):
        body = request.get_json(silent=True) if request.method == "POST" else None
        key = (request.method, number, request.headers.get("Authorization", ""),
               json.dumps(body, ensure_ascii=False) if body is not None else "")
        with lock:
            seen[key] += 1
        if number == 13:
            return jsonify(error="refused"), 422
        return jsonify(number=number)

    return app, seen


REQUESTS = [load.Request("GET", "/t/1", "Bearer a"), load.Request("GET", "/t/2"),
            load.Request("POST", "/t/3", "Bearer b", json.dumps({"描述": "垃圾桶满溢", "lat": 30.5},
                                                                 ensure_ascii=False))]


def _run(monkeypatch, which: str, requests: list[load.Request]):
    if which == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (apt-get install wrk; .ci/run does it)")
    monkeypatch.setattr(load, "generator", lambda: which)
    app, seen = recording_app()
    with served(app) as base:
        figure = load.run_load(base, 2, 1.0, requests)
    return figure, seen


@pytest.mark.parametrize("which", ["wrk", "python"])
def test_every_request_arrives_as_given(monkeypatch, which):
    figure, seen = _run(monkeypatch, which, REQUESTS)
    expected = {("GET", 1, "Bearer a", ""), ("GET", 2, "", ""),
                ("POST", 3, "Bearer b", '{"描述": "垃圾桶满溢", "lat": 30.5}')}
    assert set(seen) == expected
    assert figure["load_generator"] == which and figure["errors"] == 0
    assert figure["runs"] >= sum(seen.values()) - 2  # those in flight when the time was up
    assert figure["per_s"] > 0 and 0 < figure["p50_ms"] <= figure["p95_ms"]


@pytest.mark.parametrize("which", ["wrk", "python"])
def test_refused_requests_are_errors_not_answers(monkeypatch, which):
    figure, seen = _run(monkeypatch, which, [load.Request("GET", "/t/13"), load.Request("GET", "/t/1")])
    refused = sum(n for key, n in seen.items() if key[1] == 13)
    assert refused > 0 and figure["errors"] >= refused - 2
    answered = sum(n for key, n in seen.items() if key[1] == 1)
    assert figure["per_s"] <= answered * 1.5  # only the answered ones count, over about a second
