-- Argo CD health of a MonitorRun: Progressing while it runs, Degraded when it errs or judged the model unhealthy.
local hs = {}

if obj.status == nil or obj.status.phase == nil or obj.status.phase == "Running" then
  hs.status = "Progressing"
  hs.message = "Running"
  return hs
end

if obj.status.phase ~= "Succeeded" then
  hs.status = "Degraded"
  hs.message = (obj.status.reason or obj.status.phase) .. ": " .. (obj.status.message or "")
  return hs
end

local results = obj.status.results or {}
local findings = {}
for _, metric in ipairs(results.metrics or {}) do
  if metric.status == "Failed" then
    table.insert(findings, metric.reason)
  end
end
if results.drift ~= nil and results.drift.datasetDrift then
  table.insert(findings, string.format("dataset drift (%d%% of features)", math.floor(results.drift.driftedShare * 100 + 0.5)))
end
for _, detector in ipairs(results.conceptDrift or {}) do
  if detector.detected then
    table.insert(findings, "concept drift (" .. detector.method .. ")")
  end
end

if results.healthy then
  hs.status = "Healthy"
else
  hs.status = "Degraded"
end
if #findings > 0 then
  hs.message = "Verdict " .. (results.verdict or "unknown") .. ": " .. table.concat(findings, "; ")
else
  hs.message = "Verdict " .. (results.verdict or "unknown")
end
return hs
