// The schema statements, sql/schema/: the migration lock, the installed check, the version (see store.hpp).
#include "store/store.hpp"

#include "pg/statements.hpp"

namespace pq::store {

void lock_schema(pg::Session& session) {
  session.run(sql::schema_lock, pg::Params{}.add(session.statements().schema()));
}

auto schema_installed(pg::Session& session) -> bool {
  return session.run(sql::schema_installed, pg::Params{}.add(session.statements().quoted_schema() + ".migrations"))
      .boolean(0, 0);
}

auto schema_version(pg::Session& session) -> int {
  return static_cast<int>(session.run(sql::schema_version).i64(0, 0));
}

void record_migration(pg::Session& session, int version, std::string_view name) {
  session.run(sql::schema_record_migration, pg::Params{}.add(version).add(name));
}

}  // namespace pq::store
