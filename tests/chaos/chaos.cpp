#include "chaos.hpp"

#include <thread>

namespace chaos {

auto rows(pq::PQ& pq, const std::string& sql, std::chrono::milliseconds patience) -> Rows {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    try {
      auto tx = pq.begin();
      auto result = tx.exec(sql);
      Rows out(static_cast<std::size_t>(result.rows()));
      for (int row = 0; row < result.rows(); ++row) {
        for (int column = 0; column < result.columns(); ++column) {
          out[static_cast<std::size_t>(row)].emplace_back(result.value(row, column).value_or(""));
        }
      }
      tx.commit();
      return out;
    } catch (const pq::Error& error) {
      if (!error.connection_lost() || std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

auto value(pq::PQ& pq, const std::string& sql) -> std::string {
  auto result = rows(pq, sql);
  REQUIRE(result.size() == 1);
  return result[0].at(0);
}

auto number(pq::PQ& pq, const std::string& sql) -> std::int64_t { return std::stoll(value(pq, sql)); }

auto table(const pq::PQ& pq, const std::string& name) -> std::string {
  return "\"" + pq.options().schema + "\"." + name;
}

auto backends(pq::PQ& pq, const std::string& application, const std::string& condition) -> std::int64_t {
  return number(pq, "select count(*) from pg_stat_activity where application_name = '" + application + "' and (" +
                        condition + ")");
}

auto worker(const std::string& db, const pq::PQ& pq, const std::string& queues, std::vector<std::string> extra,
            const std::string& output) -> std::unique_ptr<test::Child> {
  std::vector<std::string> args{"--plugin", test::built("PQ_CHAOS_PLUGIN"), "--queues", queues};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<test::Child>(test::pq_command("PQ_WORKER_BIN", db, pq.options().schema, args),
                                       std::vector<std::string>{"PQ_CHAOS_DB=" + db}, output);
}

}  // namespace chaos
