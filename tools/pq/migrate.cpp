// migrate, version: the schema pq's tables are at, and the one this pq installs.
#include "command.hpp"

namespace pq_cli {

auto run_migrate(Context& ctx) -> int {
  const int version = ctx.pq().create();
  const auto& schema = ctx.pq().options().schema;
  if (ctx.json()) {
    JsonLine().add("schema", schema).add("version", version).print();
  } else {
    fmt::print("schema '{}' is at version {}\n", cell(schema), version);
  }
  return kOk;
}

auto run_version(Context& ctx) -> int {
  if (ctx.json()) {
    JsonLine().add("version", PQ_VERSION).add("schema_version", pq::PQ::latest_schema_version()).print();
  } else {
    fmt::print("pq {} (schema version {})\n", PQ_VERSION, pq::PQ::latest_schema_version());
  }
  return kOk;
}

}  // namespace pq_cli
