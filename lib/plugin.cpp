#include <dlfcn.h>
#include <fmt/core.h>

#include "pq/error.hpp"
#include "pq/worker.hpp"

namespace pq {

void load_plugin(const std::string& path, Registry& registry) {
  // Plugins stay loaded for the life of the process: their handlers live in the registry.
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) throw UsageError(fmt::format("cannot load plugin {}: {}", path, ::dlerror()));
  using Entry = void (*)(Registry&);
  auto entry = reinterpret_cast<Entry>(::dlsym(library, "pq_register_tasks"));
  if (entry == nullptr) {
    throw UsageError(fmt::format("plugin {} has no pq_register_tasks entry point (define it with PQ_PLUGIN)", path));
  }
  try {
    entry(registry);
  } catch (const Error& error) {
    throw UsageError(fmt::format("plugin {}: {}", path, error.what()));
  }
}

}  // namespace pq
