// Decoding job rows returned by pq's statements (`RETURNING job.*`, `SELECT *`).
#pragma once

#include <optional>
#include <vector>

#include "pg/result.hpp"
#include "pq/job.hpp"

namespace pq {

auto decode_jobs(const pg::Result& result) -> std::vector<Job>;
auto decode_job(const pg::Result& result) -> std::optional<Job>;

}  // namespace pq
