-- wrk script: every request a different anonymous search, so none is a page-cache hit.
--   wrk -t2 -c64 -d30s -s bench/search_flood.lua http://127.0.0.1:8000
-- (docs/benchmarks.md "Searches under load" measures /healthz meanwhile.)
local words = {
  "diffusion", "graph", "neural", "network", "protein", "language", "model", "attention",
  "transformer", "learning", "reinforcement", "quantum", "galaxy", "optimization", "bayesian",
  "inference", "robust", "vision", "segmentation", "retrieval", "embedding", "sparse", "kernel",
  "stochastic", "gradient", "convex", "equivariant", "molecule", "policy", "reward", "causal",
  "time", "series", "forecasting", "speech", "audio", "image", "video", "generation", "benchmark",
}
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
request = function()
  local q = words[math.random(#words)] .. "+" .. words[math.random(#words)] .. "+" .. math.random(1, 1000000)
  return wrk.format("GET", "/search?q=" .. q)
end
