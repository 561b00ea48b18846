// pq::testing::TempPostgres: who can reach the throwaway server, and that it never outlives its owner.
#include "support.hpp"
