#include <dlfcn.h>
#include <fmt/core.h>

#include <mutex>
#include <set>
#include <utility>

#include "pq/error.hpp"
#include "pq/worker.hpp"

namespace pq {

void load_plugin(const std::string& path, Registry& registry) {
  // Plugins stay loaded for the life of the process: their handlers live in the registry.
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) throw UsageError(fmt::format("cannot load plugin {}: {}", path, ::dlerror()));
  {
    // dlopen hands out one handle per library, however it is named: a second load would register twice.
    static std::mutex mutex;
    static std::set<std::pair<void*, Registry*>> loaded;
    std::lock_guard lock(mutex);
    if (!loaded.emplace(library, &registry).second) {
      throw UsageError(fmt::format("plugin {} is already loaded", path));
    }
  }
  using Entry = void (*)(Registry&);
  auto entry = reinterpret_cast<Entry>(::dlsym(library, "pq_register_tasks"));
  if (entry == nullptr) {
    throw UsageError(fmt::format("plugin {} has no pq_register_tasks entry point (define it with PQ_PLUGIN)", path));
  }
  try {
    entry(registry);
  } catch (const std::exception& error) {
    throw UsageError(fmt::format("plugin {} failed to register its tasks: {}", path, error.what()));
  } catch (...) {
    throw UsageError(fmt::format("plugin {} failed to register its tasks: it threw something that is not a "
                                 "std::exception", path));
  }
}

}  // namespace pq
