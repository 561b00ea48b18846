// Owners for every libpq allocation, so no raw handle outlives its scope.
#pragma once

#include <libpq-fe.h>

#include <memory>

namespace pq::pg {

struct ConnDeleter {
  bool owned = true;  // false: a connection the application lent pq, which it closes itself
  void operator()(PGconn* conn) const noexcept {
    if (owned) PQfinish(conn);
  }
};
struct ResultDeleter {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
struct FreeMemDeleter {
  void operator()(void* memory) const noexcept { PQfreemem(memory); }
};
struct ConninfoDeleter {
  void operator()(PQconninfoOption* options) const noexcept { PQconninfoFree(options); }
};

using ConnHandle = std::unique_ptr<PGconn, ConnDeleter>;
using ResultHandle = std::unique_ptr<PGresult, ResultDeleter>;
using NotifyHandle = std::unique_ptr<PGnotify, FreeMemDeleter>;
using CharHandle = std::unique_ptr<char, FreeMemDeleter>;
using ConninfoHandle = std::unique_ptr<PQconninfoOption, ConninfoDeleter>;

}  // namespace pq::pg
