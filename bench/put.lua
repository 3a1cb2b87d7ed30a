-- wrk script for the PUT /behaviors benchmark.
--
-- Every request updates one predefined behavior, rotating through all 9 predefined ids x 3 risk
-- levels x enabled true/false, so each request is a real change and the stored configuration
-- (and so the response size) stays bounded. Requests are formatted once per wrk thread.
--
-- Environment:
--   ZTRISK_TOKEN   API token with "Zero Trust Write" (required).
--
-- At the end, prints the same "BENCH ..." line as get.lua.

local token = os.getenv("ZTRISK_TOKEN") or ""

local ids = {
   "imp_travel", "high_dlp", "failed_logins", "sentinel_one", "crowdstrike_low_zta",
   "crowdstrike_medium_zta", "malicious_file", "suspicious_security_domain", "high_risk_domain",
}
local levels = { "low", "medium", "high" }

local requests = {}
local headers = {
   ["Authorization"] = "Bearer " .. token,
   ["Content-Type"] = "application/json",
}

function init(args)
   for _, enabled in ipairs({ "true", "false" }) do
      for _, level in ipairs(levels) do
         for _, id in ipairs(ids) do
            local body = string.format(
               '{"behaviors": {"%s": {"enabled": %s, "risk_level": "%s"}}}', id, enabled, level)
            requests[#requests + 1] = wrk.format("PUT", nil, headers, body)
         end
      end
   end
end

-- Each thread starts at a different offset so that threads do not send identical sequences.
local counter = math.random(0, 1000)

function request()
   counter = counter + 1
   return requests[(counter % #requests) + 1]
end

function done(summary, latency, requests)
   local errors = summary.errors
   local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
   io.write(string.format(
      "BENCH rps=%.1f requests=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests / (summary.duration / 1e6), summary.requests,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      errors.status, socket_errors))
end
