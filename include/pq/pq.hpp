// pq: a PostgreSQL job queue. The umbrella header.
#pragma once

#include "pq/admin.hpp"       // IWYU pragma: export
#include "pq/cli.hpp"         // IWYU pragma: export
#include "pq/connection.hpp"  // IWYU pragma: export
#include "pq/duration.hpp"    // IWYU pragma: export
#include "pq/error.hpp"       // IWYU pragma: export
#include "pq/job.hpp"         // IWYU pragma: export
#include "pq/json.hpp"        // IWYU pragma: export
#include "pq/ndjson.hpp"      // IWYU pragma: export
#include "pq/pause.hpp"       // IWYU pragma: export
#include "pq/queue.hpp"       // IWYU pragma: export
#include "pq/scheduler.hpp"   // IWYU pragma: export
#include "pq/task.hpp"        // IWYU pragma: export
#include "pq/transaction.hpp" // IWYU pragma: export
#include "pq/worker.hpp"      // IWYU pragma: export
