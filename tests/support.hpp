// Shared by every suite: the one server of this test run, a fresh schema per test, waiting with deadlines.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "pq/pq.hpp"
#include "pq/testing.hpp"

namespace test {

/// The server of this test run, started once by tests/main.cpp.
auto server() -> pq::testing::TempPostgres&;

/// A pq::PQ on a schema of its own, already created.
auto fresh(pq::ConnectionOptions options = {}) -> pq::PQ;

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
template <class Condition>
auto wait_until(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20)) -> bool {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

/// The first value of a one-row query, as text, run in its own transaction.
auto scalar(pq::PQ& pq, const std::string& sql) -> std::string;

}  // namespace test
