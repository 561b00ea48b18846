// Logging for the long-running services, and the identity they log and lock under.
#pragma once

#include <fmt/core.h>

#include <string>

#include "pq/worker.hpp"

namespace pq {

/// "<host>:<pid>:<random hex>": unique per process start, readable in locked_by and in the leader row.
auto instance_id() -> std::string;

/// A LogSink that never throws and never lets a sink's exception out.
class Log {
 public:
  explicit Log(LogSink sink) : sink_(sink ? std::move(sink) : stderr_log()) {}

  template <class... Args>
  void operator()(LogLevel level, fmt::format_string<Args...> format, Args&&... args) const noexcept {
    try {
      sink_(level, fmt::format(format, std::forward<Args>(args)...));
    } catch (...) {  // a broken sink must not take a worker down
    }
  }

 private:
  LogSink sink_;
};

}  // namespace pq
