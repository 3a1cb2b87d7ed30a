-- wrk script for the GET benchmarks (ztrisk GET /behaviors and the bare axum endpoint).
--
-- Environment:
--   ZTRISK_TOKEN   API token sent as "Authorization: Bearer ..." (optional; the bare endpoint
--                  ignores it, but receives the same headers so both parse the same request).
--
-- At the end, prints one machine-readable line that bench/behaviors.sh parses:
--   BENCH rps=<req/s> requests=<n> p50_us=<..> p90_us=<..> p99_us=<..> max_us=<..>
--         non2xx=<n> socket_errors=<n>

local token = os.getenv("ZTRISK_TOKEN")
if token ~= nil and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.method = "GET"

-- No response() hook on purpose: defining one makes wrk parse and hand every response to Lua,
-- which loads the client core enough to bias the comparison. Non-2xx answers are counted by
-- wrk itself (summary.errors.status).

function done(summary, latency, requests)
   local errors = summary.errors
   local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
   io.write(string.format(
      "BENCH rps=%.1f requests=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests / (summary.duration / 1e6), summary.requests,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      errors.status, socket_errors))
end
