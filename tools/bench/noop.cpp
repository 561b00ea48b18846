// A pq-worker plugin whose one task does nothing, so that pq-bench measures the worker itself (claims,
// completions, memory) and no handler's work.
#include <pq/pq.hpp>

PQ_PLUGIN(registry) { registry.task("q", "noop", [] {}); }
