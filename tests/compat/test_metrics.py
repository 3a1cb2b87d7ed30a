"""``/metrics`` read by the official Prometheus client's parser (api.md 7): the text parses, the
metric families have their types, and histograms are consistent."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import Env
from test_risk import post_events


def test_metrics_parse_with_the_prometheus_client(env: Env) -> None:
    v4 = env.server.v4
    post_events(v4, env.account_a, env.admin_token, [
        {"id": "metrics-1", "type": "dlp_match", "timestamp": "2026-11-20T10:00:00Z",
         "user": {"email": "metrics@example.com"}, "profile": "Credentials"},
    ])
    resp = httpx.get(f"{env.server.url}/metrics", timeout=10.0)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    assert families["ztrisk_http_request_duration_seconds"].type == "histogram"
    assert families["ztrisk_events"].type == "counter"  # the parser drops the _total suffix
    assert families["ztrisk_users"].type == "gauge"
    accepted = [s for s in families["ztrisk_events"].samples
                if s.labels == {"source": "ztrisk", "outcome": "accepted"}]
    assert accepted and accepted[0].value >= 1
    # Histogram buckets are cumulative and end at +Inf == _count.
    by_series: dict[tuple, list] = {}
    counts = {}
    for s in families["ztrisk_http_request_duration_seconds"].samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        if s.name.endswith("_bucket"):
            by_series.setdefault(key, []).append(s.value)
        elif s.name.endswith("_count"):
            counts[key] = s.value
    assert by_series
    for key, buckets in by_series.items():
        assert buckets == sorted(buckets), key
        assert buckets[-1] == counts[key], key
    assert "metrics@example.com" not in resp.text
