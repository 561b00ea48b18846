// What every put of pq::Queue does besides its statement, whichever connection it runs on (lib/queue/queue.cpp,
// lib/adopted/adopted.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pg/statements.hpp"
#include "pq/job.hpp"

namespace pq::detail {

struct Shared;

/// The options and the data, before any SQL runs.
void validate_put(const Shared& shared, std::string_view json, const PutOptions& options);
/// The same for each job; an error names the job's index.
void validate_put_many(const Shared& shared, std::span<const std::string> jsons, const PutOptions& options);
/// What the listeners of `queue` are told of jobs just put: jobs with a priority or expected_at of their own
/// may sort anywhere; others sort after every job with a lower id than theirs.
auto notified(const std::string& queue, const std::vector<std::int64_t>& ids, const PutOptions& options)
    -> pg::Notified;

}  // namespace pq::detail
