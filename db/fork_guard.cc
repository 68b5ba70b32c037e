// fork_guard.cc: see fork_guard.h.

#include "db/fork_guard.h"

#include <algorithm>
#include <mutex>
#include <new>
#include <vector>

#include "port/port.h"

namespace ultradict {

namespace {

// Never destroyed: handles may be closed (and unregistered) by the
// destructors of other static objects.
struct Registry {
  std::mutex mu;
  std::vector<ForkAware*> objects;  // Guarded by mu.
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

// The registry's lock is taken first and held across the fork, so that no
// object is added or removed in between.
void Prepare() {
  Registry& r = TheRegistry();
  r.mu.lock();
  for (ForkAware* object : r.objects) object->PrepareFork();
}

void Parent() {
  Registry& r = TheRegistry();
  for (auto it = r.objects.rbegin(); it != r.objects.rend(); ++it) {
    (*it)->ParentAfterFork();
  }
  r.mu.unlock();
}

void Child() {
  Registry& r = TheRegistry();
  for (auto it = r.objects.rbegin(); it != r.objects.rend(); ++it) {
    (*it)->ChildAfterFork();
  }
  // The one thread of the child is the one that locked it.
  r.mu.unlock();
}

}  // namespace

void RegisterForFork(ForkAware* object) {
  static std::once_flag once;
  std::call_once(once, [] { port::AtFork(&Prepare, &Parent, &Child); });
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  r.objects.push_back(object);
}

void UnregisterForFork(ForkAware* object) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  r.objects.erase(std::remove(r.objects.begin(), r.objects.end(), object),
                  r.objects.end());
}

}  // namespace ultradict
