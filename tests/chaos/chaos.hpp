// What the chaos suites share: SQL helpers that ride out a restarting server, and the programs they run.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "../process.hpp"
#include "../support.hpp"

namespace chaos {

using Rows = std::vector<std::vector<std::string>>;

/// Every row of `sql` as text (NULL as ""), in a transaction of its own. A lost connection (the server is
/// restarting) is retried until `patience` runs out, so a check never fails for the fault it is checking.
auto rows(pq::PQ& pq, const std::string& sql, std::chrono::milliseconds patience = std::chrono::seconds(60))
    -> Rows;
/// The single value of `sql`.
auto value(pq::PQ& pq, const std::string& sql) -> std::string;
/// The single value of `sql` as an integer.
auto number(pq::PQ& pq, const std::string& sql) -> std::int64_t;

/// test::wait_until at a pace for conditions that query the server: every quarter second.
template <class Condition>
auto eventually(Condition condition, std::chrono::milliseconds timeout) -> bool {
  return test::wait_until(std::move(condition), timeout, std::chrono::milliseconds(250));
}

/// A job's data for a task: {"args":[...]}.
template <class... A>
auto args(const A&... values) -> std::string {
  return pq::detail::encode_args(values...);
}

/// `"schema".name`, for tables the tests create next to pq's.
auto table(const pq::PQ& pq, const std::string& name) -> std::string;

/// How many backends of the server have the application_name `application` and meet `condition` (SQL over
/// pg_stat_activity, e.g. "state = 'active'").
auto backends(pq::PQ& pq, const std::string& application, const std::string& condition = "true") -> std::int64_t;

/// A pq-worker with the chaos plugin on `queues`; `db` also reaches the plugin's handlers (PQ_CHAOS_DB).
auto worker(const std::string& db, const pq::PQ& pq, const std::string& queues, std::vector<std::string> extra,
            const std::string& output) -> std::unique_ptr<test::Child>;

}  // namespace chaos
