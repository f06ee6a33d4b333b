-- Argo CD health of a ModelMonitor: the model's health as its last run judged it.
local hs = {}

local function condition(kind)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == kind then
        return c
      end
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to accept generation " .. obj.metadata.generation
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "False" then
  if ready.reason == "Suspended" then
    hs.status = "Suspended"
  else
    hs.status = "Degraded"
  end
  hs.message = describe(ready)
  return hs
end

local healthy = condition("Healthy")
local last = obj.status.lastRun
if healthy == nil or last == nil or last.generation == nil or last.generation < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the first run of generation " .. obj.metadata.generation
  return hs
end

if healthy.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Degraded"
end
hs.message = describe(healthy)
return hs
