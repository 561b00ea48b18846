// --exec commands as pq-worker runs them: their environment, their process groups, their stderr.
#include "process.hpp"
#include "support.hpp"
