// subprocess.cc: see subprocess.h.

#include "tests/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

extern char** environ;

namespace ultradict {
namespace testing {

Child SpawnSelf(const std::vector<std::string>& args,
                const std::vector<std::string>& extra_env) {
  Child child;
  // Everything the child needs is prepared before fork(): between fork and
  // exec it only calls async-signal-safe functions.
  std::vector<std::string> argv_strings;
  argv_strings.push_back("/proc/self/exe");
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; e++) {
    const std::string entry(*e);
    bool replaced = false;
    for (const std::string& extra : extra_env) {
      const size_t eq = extra.find('=');
      if (entry.compare(0, eq + 1, extra, 0, eq + 1) == 0) replaced = true;
    }
    if (!replaced) env_strings.push_back(entry);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv, envp;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in_pipe[2], report_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return child;
  if (pipe2(report_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return child;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    // dup2 clears FD_CLOEXEC on the new descriptors.
    if (dup2(in_pipe[0], 0) < 0 || dup2(report_pipe[1], kReportFd) < 0) {
      _exit(126);
    }
    execve("/proc/self/exe", argv.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(report_pipe[1]);
  if (pid < 0) {
    close(in_pipe[1]);
    close(report_pipe[0]);
    return child;
  }
  // The parent never blocks on a dead child's stdin.
  signal(SIGPIPE, SIG_IGN);
  child.pid = pid;
  child.to_child = in_pipe[1];
  child.from_child = report_pipe[0];
  return child;
}

bool WaitExit(pid_t pid, int64_t timeout_ms, int* status) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void KillAndReap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

void ClosePipes(Child* child) {
  if (child->to_child >= 0) close(child->to_child);
  if (child->from_child >= 0) close(child->from_child);
  child->to_child = child->from_child = -1;
}

bool ReadLine(int fd, std::string* line, int64_t timeout_ms) {
  line->clear();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char c;
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    line->push_back(c);
  }
}

bool ReadAvailable(int fd, std::string* out) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return true;  // EAGAIN: nothing more for now.
  }
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::map<std::string, std::string> ParseChildArgs(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; i++) {
    std::string a(argv[i]);
    if (a.rfind("--", 0) != 0) continue;
    a = a.substr(2);
    const size_t eq = a.find('=');
    if (eq == std::string::npos) {
      args[a] = "";
    } else {
      args[a.substr(0, eq)] = a.substr(eq + 1);
    }
  }
  return args;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

bool RunSelfUntilKilled(const std::vector<std::string>& args,
                        const std::vector<std::string>& extra_env,
                        int64_t timeout_ms, std::string* how) {
  Child child = SpawnSelf(args, extra_env);
  if (child.pid <= 0) {
    *how = "did not start";
    return false;
  }
  int status = 0;
  const bool ended = WaitExit(child.pid, timeout_ms, &status);
  if (!ended) KillAndReap(child.pid);
  ClosePipes(&child);
  *how = ended ? DescribeStatus(status) : "still running";
  return ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

int TestMainWithChildren(int argc, char** argv,
                         int (*run_child)(int argc, char** argv)) {
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]).rfind("--child=", 0) == 0) return run_child(argc, argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

}  // namespace testing
}  // namespace ultradict
