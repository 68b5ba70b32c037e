// subprocess.h: starting and watching child processes in multi-process tests
// (testonly). Children are independent processes: the test binary re-execs
// itself (/proc/self/exe) with a `--child=<role>` argument that its main()
// handles before InitGoogleTest.
//
// A child gets two pipes: its stdin (Child::to_child, closed by the parent
// to say "finish") and its fd 3 (kReportFd), on which it reports to the
// parent (Child::from_child). Its stdout and stderr are the test's.

#ifndef ULTRADICT_TESTS_SUBPROCESS_H_
#define ULTRADICT_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ultradict {
namespace testing {

// The descriptor on which a child writes its reports.
inline constexpr int kReportFd = 3;

struct Child {
  pid_t pid = -1;
  int to_child = -1;    // Write end of the child's stdin.
  int from_child = -1;  // Read end of the child's fd 3.
};

// Starts this binary again with `args` (argv[1..]); `extra_env` entries
// ("NAME=value") are added to (or replace in) this process's environment
// for the child only. pid is -1 when fork failed.
Child SpawnSelf(const std::vector<std::string>& args,
                const std::vector<std::string>& extra_env = {});

// Waits at most timeout_ms for pid to end; true (and *status, as from
// waitpid) when it did.
bool WaitExit(pid_t pid, int64_t timeout_ms, int* status);

// SIGKILLs pid and reaps it.
void KillAndReap(pid_t pid);

// Closes the parent's ends of the child's pipes (idempotent).
void ClosePipes(Child* child);

// Reads one '\n'-terminated line (without it) from fd, waiting at most
// timeout_ms in all. False on timeout, EOF or error.
bool ReadLine(int fd, std::string* line, int64_t timeout_ms);

// Reads whatever is available on fd now (non-blocking: fd must have been
// made non-blocking) and appends it to *out. False at EOF.
bool ReadAvailable(int fd, std::string* out);

// Writes all of s to fd (ignores errors: the reader may be dead).
void WriteAll(int fd, const std::string& s);

// "--key=value" arguments of a child as a map (key without the dashes).
std::map<std::string, std::string> ParseChildArgs(int argc, char** argv);

// The main() of a test binary with child roles: runs run_child when a
// `--child=` argument is present, else the GoogleTest suite.
int TestMainWithChildren(int argc, char** argv,
                         int (*run_child)(int argc, char** argv));

// Text for a waitpid status ("exit 0", "signal 9").
std::string DescribeStatus(int status);

// Starts this binary (SpawnSelf with args and extra_env), waits at most
// timeout_ms for it to end and closes its pipes. True when a SIGKILL
// ended it (a fault point's); else false, with *how saying what happened
// ("did not start", "still running", DescribeStatus).
bool RunSelfUntilKilled(const std::vector<std::string>& args,
                        const std::vector<std::string>& extra_env,
                        int64_t timeout_ms, std::string* how);

}  // namespace testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_SUBPROCESS_H_
