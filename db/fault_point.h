// fault_point.h: named places in the engine where a crash test can kill the
// process (SIGKILL) at the worst moment. Compiled in only for the test
// variant of the engine (//db:db_with_fault_points, which defines
// ULTRADICT_FAULT_POINTS); elsewhere FaultPoint is an empty inline function.
//
// A process dies at the point named by $ULTRADICT_FAULT_POINT, on its
// $ULTRADICT_FAULT_SKIP+1-th pass (default: the first).

#ifndef ULTRADICT_DB_FAULT_POINT_H_
#define ULTRADICT_DB_FAULT_POINT_H_

namespace ultradict {

#ifdef ULTRADICT_FAULT_POINTS
void FaultPoint(const char* name);
#else
inline void FaultPoint(const char*) {}
#endif

}  // namespace ultradict

#endif  // ULTRADICT_DB_FAULT_POINT_H_
