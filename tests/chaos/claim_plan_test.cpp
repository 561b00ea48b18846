// The claim's plan with a big table: 1M available, 1M scheduled and 1M finished jobs. The claim must read
// the partial index in dequeue order (no sort, no sequential scan), and LIMIT n must never update more than
// n rows (PostgreSQL bug #15715, which a locking subquery run more than once runs into). And the worker's
// guarded statements must find their jobs by id even when the statistics promise that no job runs.
#include <fmt/format.h>

#include <atomic>

#include "chaos.hpp"
#include "pg/session.hpp"
#include "pg/statements.hpp"
#include "pq/json.hpp"
#include "sql_text.hpp"
#include "store/store.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kQueues = 4;

void collect(const pq::Json& node, std::vector<std::string>& types, std::vector<std::string>& indexes) {
  types.push_back(node["Node Type"].as_string());
  if (const auto* index = node.find("Index Name")) indexes.push_back(index->as_string());
  if (const auto* plans = node.find("Plans")) {
    for (const auto& child : plans->as_array()) collect(child, types, indexes);
  }
}

struct Plan {
  std::string text;                  // EXPLAIN's JSON, for the failure messages
  std::vector<std::string> types;    // every node's type, depth first
  std::vector<std::string> indexes;  // every index a node reads
};

// The plan of `execute` (an EXECUTE of a prepared statement) under plan_cache_mode `mode`.
auto plan_of(pq::pg::Session& session, const std::string& mode, const std::string& execute) -> Plan {
  session.exec("SET plan_cache_mode = " + mode, {}, pq::pg::Format::text);
  auto result = session.exec("EXPLAIN (FORMAT JSON) " + execute, {}, pq::pg::Format::text);
  Plan plan{PQgetvalue(result.get(), 0, 0), {}, {}};
  collect(pq::Json::parse(plan.text).as_array().at(0)["Plan"], plan.types, plan.indexes);
  return plan;
}

auto running(pq::PQ& pq) -> std::int64_t {
  return chaos::number(pq, "select count(*) from " + chaos::table(pq, "jobs") + " where state = 'running'");
}

}  // namespace

TEST_SUITE("claim plan") {
  TEST_CASE("3M rows: the claim reads the partial index without sort or sequential scan, and LIMIT n is kept") {
    auto pq = test::fresh();
    const auto jobs = chaos::table(pq, "jobs");
    // Four queues, three priorities, half the jobs with an expected time: the order has work to do.
    chaos::rows(pq, "insert into " + jobs + " (queue, data, priority, expected_at, state) "
                    "select 'q' || (g % " + std::to_string(kQueues) + "), '{}', g % 3 - 1, "
                    "case when g % 2 = 0 then now() + g * interval '1 second' end, 'available' "
                    "from generate_series(1, 1000000) g");
    chaos::rows(pq, "insert into " + jobs + " (queue, data, schedule_at, state) "
                    "select 'q' || (g % " + std::to_string(kQueues) + "), '{}', now() + interval '1 day', "
                    "'scheduled' from generate_series(1, 1000000) g");
    chaos::rows(pq, "insert into " + jobs + " (queue, data, attempt, state, finished_at) "
                    "select 'q' || (g % " + std::to_string(kQueues) + "), '{}', 1, 'completed', now() "
                    "from generate_series(1, 1000000) g");
    chaos::rows(pq, "analyze " + jobs);

    pq::pg::Session session(test::server().url());
    auto statements = std::make_shared<const pq::pg::Statements>(session, pq.options().schema);
    session.attach(statements, true);
    session.exec("PREPARE claim AS " + statements->text(pq::sql::queue_claim), {}, pq::pg::Format::text);
    // Custom plans are what runs (a generic plan would not know n); both must be right. A claim from the
    // head, from a place, and from the head to a place: the index seeks to the first place and stops at the
    // second (both row comparisons are index conditions).
    const std::string end = ", 32767, NULL, 'infinity', 9223372036854775807";
    for (const std::string mode : {"force_custom_plan", "force_generic_plan"}) {
      for (const auto& after :
           {"-32768, NULL, '-infinity', 0" + end, "0, NULL, 'infinity', 500000" + end,
            "-1, 1000000, NULL, 20" + end, std::string("-32768, NULL, '-infinity', 0, 0, NULL, 'infinity', 500000")}) {
        CAPTURE(mode);
        CAPTURE(after);
        // As a worker claims: only the kinds it has handlers for (the jobs here have none, kind '').
        const auto [text, types, indexes] =
            plan_of(session, mode, "EXECUTE claim('q1', 10, 30000000, 'plan', '{\"\"}', NULL, " + after + ")");
        CAPTURE(text);
        CHECK(std::count(types.begin(), types.end(), "Seq Scan") == 0);
        CHECK(std::count(types.begin(), types.end(), "Sort") == 0);
        CHECK(std::count(types.begin(), types.end(), "Incremental Sort") == 0);
        CHECK(std::count(indexes.begin(), indexes.end(), "jobs_claim_idx") == 1);
        // The claim index's condition: the pause probes (migrations/008_pauses.sql) come first.
        const auto from = text.find("\"Index Cond\": \"((queue = ", text.find("\"Index Name\": \"jobs_claim_idx\""));
        REQUIRE(from != std::string::npos);
        const auto condition = text.substr(from, text.find("\",", from) - from);
        CAPTURE(condition);
        CHECK(condition.find(") > ROW(") != std::string::npos);
        CHECK(condition.find(") <= ROW(") != std::string::npos);
        std::string shape;
        for (std::size_t i = 0; i < types.size(); ++i) shape += (i == 0 ? "" : ", ") + types[i];
        for (const auto& index : indexes) shape += "; " + index;
        MESSAGE("claim plan (" << mode << ", after " << after << "): " << shape);
      }
    }

    // LIMIT n takes exactly n when there are more, alone and with eight claimers racing.
    for (int n : {1, 10, 1000}) {
      CAPTURE(n);
      const auto before = running(pq);
      CHECK(pq::store::claim(session, "q2", n, 30s, "limit").size() == static_cast<std::size_t>(n));
      CHECK(running(pq) - before == n);
    }
    const auto before = running(pq);
    std::atomic<std::int64_t> claimed{0};
    std::atomic<bool> over_limit{false};
    std::vector<std::thread> claimers;
    for (int t = 0; t < 8; ++t) {
      claimers.emplace_back([&] {
        pq::pg::Session own(test::server().url());
        own.attach(std::make_shared<const pq::pg::Statements>(own, pq.options().schema), true);
        for (int round = 0; round < 20; ++round) {
          auto got = pq::store::claim(own, "q3", 50, 30s, "race").size();
          over_limit = over_limit || got > 50;
          claimed += static_cast<std::int64_t>(got);
        }
      });
    }
    for (auto& claimer : claimers) claimer.join();
    CHECK_FALSE(over_limit);
    CHECK(claimed == 8 * 20 * 50);
    CHECK(running(pq) - before == claimed);
  }

  TEST_CASE("the worker's guarded statements look jobs up by id, whatever the statistics say") {
    auto pq = test::fresh();
    const auto jobs = chaos::table(pq, "jobs");
    // Statistics taken while no job ran: locked_by is NULL in every sampled row, so a restriction on it looks
    // like one row, and a scan of the table like the cheapest plan. Then 100 jobs start running.
    chaos::rows(pq, "insert into " + jobs + " (queue, data) select 'q', '{}' from generate_series(1, 20000)");
    chaos::rows(pq, "analyze " + jobs);
    chaos::rows(pq, "update " + jobs + " set state = 'running', attempt = 1, attempted_at = now(), "
                    "lease_until = now() + interval '1 hour', locked_by = 'w' where id <= 100");
    std::string ids, attempts, delays, errors;
    for (int id = 1; id <= 100; ++id) {
      const auto comma = id == 1 ? "" : ",";
      ids += comma + std::to_string(id);
      attempts += std::string(comma) + "1";
      delays += std::string(comma) + "1000000";
      errors += std::string(comma) + "boom";
    }
    ids = "'{" + ids + "}'";
    attempts = "'{" + attempts + "}'";
    delays = "'{" + delays + "}'";
    errors = "'{" + errors + "}'";
    const std::pair<pq::sql::Statement, std::string> guarded[] = {
        {pq::sql::queue_complete_many, ids + ", " + attempts + ", 'w'"},
        {pq::sql::queue_fail_many, ids + ", " + attempts + ", " + errors + ", 'w'"},
        {pq::sql::queue_retry_many, ids + ", " + attempts + ", " + delays + ", " + errors + ", 'w'"},
        {pq::sql::queue_release_many, ids + ", " + attempts + ", 'w'"},
        {pq::sql::queue_heartbeat, ids + ", " + attempts + ", 'w', 30000000"},
    };

    pq::pg::Session session(test::server().url());
    auto statements = std::make_shared<const pq::pg::Statements>(session, pq.options().schema);
    session.attach(statements, true);
    for (const auto& [statement, arguments] : guarded) {
      std::string name(statement.name);
      CAPTURE(name);
      for (auto& c : name) c = c == '/' ? '_' : c;
      session.exec(fmt::format("PREPARE {} AS {}", name, statements->text(statement)), {}, pq::pg::Format::text);
      for (const std::string mode : {"force_custom_plan", "force_generic_plan"}) {
        CAPTURE(mode);
        const auto [text, types, indexes] = plan_of(session, mode, fmt::format("EXECUTE {}({})", name, arguments));
        CAPTURE(text);
        CHECK(std::count(types.begin(), types.end(), "Seq Scan") == 0);
        CHECK(std::count(indexes.begin(), indexes.end(), "jobs_pkey") == 1);
      }
    }
  }
}
