// fork_guard.h: keeps the in-process locks of every open handle usable in
// the child of a fork().
//
// fork() copies one thread. A lock that another thread (a handle's
// background thread, or a user's thread inside a DB call) held at that
// moment stays held in the child by a thread that does not exist there,
// and the state it guarded may be half-changed. So, around every fork()
// (pthread_atfork, see port::AtFork), the forking thread takes the locks of
// every registered object (PrepareFork, in registration order), which
// waits for those threads to leave their critical sections; after the fork
// the parent releases them (ParentAfterFork) and the child makes them new
// (ChildAfterFork): the child starts with every lock free and every guarded
// field consistent.
//
// Rules for a ForkAware object: PrepareFork takes its locks in the object's
// own lock order and takes no lock of another object; no thread may call
// fork() while holding one of those locks (that thread would wait for
// itself).

#ifndef ULTRADICT_DB_FORK_GUARD_H_
#define ULTRADICT_DB_FORK_GUARD_H_

namespace ultradict {

class ForkAware {
 public:
  virtual void PrepareFork() = 0;
  virtual void ParentAfterFork() = 0;
  virtual void ChildAfterFork() = 0;

 protected:
  ~ForkAware() = default;
};

// Adds an object to the set prepared around every fork() (registering the
// fork handlers on first use) / removes it. Thread-safe; an object must be
// removed before it is destroyed.
void RegisterForFork(ForkAware* object);
void UnregisterForFork(ForkAware* object);

}  // namespace ultradict

#endif  // ULTRADICT_DB_FORK_GUARD_H_
