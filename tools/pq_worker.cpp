// pq-worker: the worker main loop over handlers from plugins (--plugin) and commands (--exec).
#include "pq/worker.hpp"

auto main(int argc, char** argv) -> int { return pq::worker_main(argc, argv); }
