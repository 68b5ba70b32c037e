// fault_point.cc: see fault_point.h.

#include "db/fault_point.h"

#ifdef ULTRADICT_FAULT_POINTS
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "port/port.h"

namespace ultradict {

void FaultPoint(const char* name) {
  static const char* target = std::getenv("ULTRADICT_FAULT_POINT");
  static std::atomic<long> skip{[] {
    const char* s = std::getenv("ULTRADICT_FAULT_SKIP");
    return s == nullptr ? 0L : std::atol(s);
  }()};
  if (target == nullptr || std::strcmp(target, name) != 0) return;
  if (skip.fetch_sub(1) <= 0) port::KillSelf();
}

}  // namespace ultradict
#endif  // ULTRADICT_FAULT_POINTS
