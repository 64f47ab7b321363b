#include "uncopyable/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigprocmask()
#include <string.h>  // NOLINT(modernize-deprecated-headers): GNU sigabbrev_np()
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/process.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"
#include "uncopyable/internal/transfer.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it in no header

namespace uncopyable {
namespace {

namespace sys = internal::sys;
using subprocess_internal::Child;

// ---------------------------------------------------------------------------
// The child, between clone3 and execve. It is a copy of a process that may
// have other threads, so it makes raw system calls only (not through the
// seam, which may allocate when a test arms it), allocates nothing, takes no
// lock, and reports a failure through the report pipe, then exits.

// The steps the child takes, in order; a report names the one that failed.
enum class Step : int32_t {
  kSignalMask = 1,  // unblocking every signal
  kParentDeath,     // asking for parent_death_signal (prctl PR_SET_PDEATHSIG)
  kProcessGroup,    // leading a new process group (setpgid(0, 0))
  kReport,          // moving the report pipe out of the way
  kPass,            // placing a passed descriptor (`index`: which)
  kNull,            // placing /dev/null (`index`: the stream, or -1)
  kCloseOthers,     // marking every other descriptor close-on-exec
  kChdir,           // entering the working directory
  kExec,            // running the program (`index`: the candidate, or -1)
};

// What a child that failed writes to the report pipe: 12 bytes, one write.
struct Report {
  int32_t step;
  int32_t error;
  int32_t index;
};

// Everything the child needs, made by the parent before clone3: the child
// only reads it (and writes `copies`, in its own copy of the memory).
struct Plan {
  const char* const* programs;  // paths to try in turn
  size_t program_count;
  char* const* argv;
  char* const* envp;
  const char* working_directory;  // nullptr: stay where the parent is
  int report_fd;                  // the report pipe's write end
  int null_fd;                    // /dev/null, or -1 if no stream is null
  bool null_stream[3];            // 0, 1, 2: /dev/null
  const int* sources;             // passed descriptors, in the parent
  const int* targets;             // their numbers in the child
  int* copies;                    // scratch: where the child keeps them meanwhile
  size_t passed_count;
  int floor;  // above every number the child ends up with
  int parent_death_signal;  // 0: none
  pid_t parent_pid;         // the spawning process, to see that it died already
  bool new_process_group;   // setpgid(0, 0): lead a group of its own
};

[[noreturn]] UNCOPYABLE_CHILD_CODE void child_failed(int report_fd, Step step, int error,
                                                     int index) noexcept {
  const Report report = {static_cast<int32_t>(step), error, index};
  ::syscall(SYS_write, report_fd, &report, sizeof report);  // atomic: < PIPE_BUF
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// A copy of `fd` at `floor` or above, close-on-exec.
UNCOPYABLE_CHILD_CODE long copy_above(int fd, int floor) noexcept {
  return ::syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);
}

// Whether an execve error means "not this candidate, try the next" (as
// execvp(3) takes them).
UNCOPYABLE_CHILD_CODE bool not_here(int error) noexcept {
  return error == ENOENT || error == ENOTDIR || error == ESTALE || error == ENODEV ||
         error == ETIMEDOUT;
}

UNCOPYABLE_CHILD_CODE void run_child(void* argument) noexcept {
  const Plan& plan = *static_cast<const Plan*>(argument);
  int report = plan.report_fd;
  const uint64_t no_signals = 0;  // the kernel's sigset: 64 bits
  if (::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, nullptr, sizeof no_signals) != 0) {
    child_failed(report, Step::kSignalMask, errno, -1);
  }
  // The signal comes when the spawning thread ends (the kernel's "parent"
  // is a thread). The parent may have died before the prctl: then the
  // child has been handed to another process already, and signals itself.
  if (plan.parent_death_signal != 0) {
    if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, plan.parent_death_signal, 0, 0, 0) != 0) {
      child_failed(report, Step::kParentDeath, errno, -1);
    }
    if (::syscall(SYS_getppid) != plan.parent_pid) {
      ::syscall(SYS_kill, ::syscall(SYS_getpid), plan.parent_death_signal);
      ::syscall(SYS_exit_group, 127);  // the signal is ignored here: nobody waits for this child
    }
  }
  // Its own group, before exec: the parent resumes only after exec
  // (CLONE_VFORK), so it never signals a group that is not there yet.
  if (plan.new_process_group && ::syscall(SYS_setpgid, 0, 0) != 0) {
    child_failed(report, Step::kProcessGroup, errno, -1);
  }
  // What the child keeps goes above every number it ends up with first, so
  // that placing one cannot close another (a source may sit at a target).
  long moved = copy_above(report, plan.floor);
  if (moved < 0) child_failed(report, Step::kReport, errno, -1);
  report = static_cast<int>(moved);
  for (size_t i = 0; i < plan.passed_count; ++i) {
    moved = copy_above(plan.sources[i], plan.floor);
    if (moved < 0) child_failed(report, Step::kPass, errno, static_cast<int>(i));
    plan.copies[i] = static_cast<int>(moved);
  }
  int null_copy = -1;
  if (plan.null_fd >= 0) {
    moved = copy_above(plan.null_fd, plan.floor);
    if (moved < 0) child_failed(report, Step::kNull, errno, -1);
    null_copy = static_cast<int>(moved);
  }
  // Every descriptor from 3 up closes at exec, also those the parent opened
  // without O_CLOEXEC; then the ones the child keeps are placed, without it.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    child_failed(report, Step::kCloseOthers, errno, -1);
  }
  for (size_t i = 0; i < plan.passed_count; ++i) {
    if (::syscall(SYS_dup3, plan.copies[i], plan.targets[i], 0) < 0) {
      child_failed(report, Step::kPass, errno, static_cast<int>(i));
    }
  }
  for (int stream = 0; stream < 3; ++stream) {
    if (plan.null_stream[stream] && ::syscall(SYS_dup3, null_copy, stream, 0) < 0) {
      child_failed(report, Step::kNull, errno, stream);
    }
  }
  if (plan.working_directory != nullptr &&
      ::syscall(SYS_chdir, plan.working_directory) != 0) {
    child_failed(report, Step::kChdir, errno, -1);
  }
  int error = ENOENT;
  bool denied = false;
  for (size_t i = 0; i < plan.program_count; ++i) {
    ::syscall(SYS_execve, plan.programs[i], plan.argv, plan.envp);
    error = errno;
    if (error == EACCES) {
      denied = true;  // reported if nothing else runs, as execvp does
    } else if (!not_here(error)) {
      child_failed(report, Step::kExec, error, static_cast<int>(i));
    }
  }
  child_failed(report, Step::kExec, denied ? EACCES : error, -1);
}

// ---------------------------------------------------------------------------
// The parent.

// The environment the child gets, as "NAME=value" strings.
std::vector<std::string> child_environment(const SubprocessConfig& config) {
  std::vector<std::string> out;
  if (config.inherit_environment && environ != nullptr) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const absl::string_view text(*entry);
      const absl::string_view name = text.substr(0, text.find('='));
      const bool replaced =
          std::any_of(config.environment.begin(), config.environment.end(),
                      [&](const EnvironmentVariable& variable) { return variable.name == name; });
      const bool removed =
          std::find(config.remove_environment.begin(), config.remove_environment.end(), name) !=
          config.remove_environment.end();
      if (!replaced && !removed) out.emplace_back(text);
    }
  }
  for (const EnvironmentVariable& variable : config.environment) {
    out.push_back(absl::StrCat(variable.name, "=", variable.value.reveal()));
  }
  return out;
}

bool looked_up(const std::string& program) { return program.find('/') == std::string::npos; }

// The paths to try: the program itself if it names a path, or the program
// in each directory of the child's PATH.
std::vector<std::string> candidates(const std::string& program,
                                    const std::vector<std::string>& environment) {
  if (!looked_up(program)) return {program};
  absl::string_view path = "/bin:/usr/bin";  // execvp's, for an environment without PATH
  for (const std::string& entry : environment) {
    if (absl::StartsWith(entry, "PATH=")) {
      path = absl::string_view(entry).substr(5);
      break;  // the first, as getenv(3) finds it
    }
  }
  std::vector<std::string> out;
  for (absl::string_view directory : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    out.push_back(absl::StrCat(directory, absl::EndsWith(directory, "/") ? "" : "/", program));
  }
  return out;
}

template <typename Strings>
std::vector<char*> pointers(const Strings& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  // execve(2) takes char* const[] and writes nothing through them.
  for (const std::string& text : strings) out.push_back(const_cast<char*>(text.c_str()));
  out.push_back(nullptr);
  return out;
}

// subprocess "sleep": how a Subprocess names its child in every message,
// without the pid (see Subprocess::resource()).
std::string program_resource(const SubprocessConfig& config) {
  return absl::StrCat("subprocess ", internal::quoted(config.argv.empty() ? "" : config.argv[0]));
}

// What spawn() names: subprocess "sleep", or subprocess "sleep" (looked up
// on PATH).
std::string program_for_messages(const SubprocessConfig& config) {
  return absl::StrCat(program_resource(config),
                      looked_up(config.argv[0]) ? " (looked up on PATH)" : "");
}

// "SIGTERM", or "signal 99" for a number that names none.
std::string signal_name(int signal) {
  const char* name = ::sigabbrev_np(signal);
  return name != nullptr ? absl::StrCat("SIG", name) : absl::StrCat("signal ", signal);
}

// The Status for what a failed child reported.
absl::Status child_error(const SubprocessConfig& config, absl::Span<const FdView> passed,
                         const std::vector<std::string>& programs, const Report& report) {
  const std::string program = program_for_messages(config);
  const int error = report.error;
  const int index = report.index;
  switch (static_cast<Step>(report.step)) {
    case Step::kSignalMask:
      return internal::errno_error_on(error, "spawn", program, "sigprocmask in the child");
    case Step::kParentDeath:
      return internal::errno_error_on(
          error, "spawn", program,
          absl::StrCat("prctl(PR_SET_PDEATHSIG, ", signal_name(config.parent_death_signal),
                       ") in the child"));
    case Step::kProcessGroup:
      return internal::errno_error_on(error, "spawn", program, "setpgid(0, 0) in the child");
    case Step::kReport:
      return internal::errno_error_on(error, "spawn", program,
                                      "fcntl F_DUPFD_CLOEXEC in the child");
    case Step::kPass:
      if (index >= 0 && static_cast<size_t>(index) < passed.size()) {
        return internal::errno_error_on(error, "spawn", program,
                                        absl::StrCat("passing fd ", passed[index].get(),
                                                     " as child fd ", config.passed_fds[index]));
      }
      if (index >= 0) {  // a pipe for a piped stream, after the passed ones
        return internal::errno_error_on(error, "spawn", program,
                                        "placing a pipe as a standard stream in the child");
      }
      break;
    case Step::kNull:
      return internal::errno_error_on(error, "spawn", program,
                                      index < 0 ? "fcntl F_DUPFD_CLOEXEC of /dev/null in the child"
                                                : absl::StrCat("/dev/null as child fd ", index));
    case Step::kCloseOthers:
      return internal::errno_error_on(error, "spawn", program,
                                      "close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)");
    case Step::kChdir:
      return internal::errno_error_on(
          error, "spawn", program,
          absl::StrCat("chdir(", internal::quoted(config.working_directory), ")"));
    case Step::kExec:
      if (index >= 0 && static_cast<size_t>(index) < programs.size() &&
          looked_up(config.argv[0])) {
        return internal::errno_error_on(
            error, "spawn", program,
            absl::StrCat("execve(", internal::quoted(programs[index]), ")"));
      }
      return internal::errno_error_on(error, "spawn", program, "execve");
  }
  return internal::error_on(absl::StatusCode::kInternal, "spawn", program,
                            absl::StrCat("the child reported step ", report.step,
                                         ", which there is not, with errno ", error));
}

// How the child ended, from waitid(2).
ExitStatus exit_status_of(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return ExitStatus::exited(info.si_status);
  return ExitStatus::killed(info.si_status);  // CLD_KILLED or CLD_DUMPED
}

// Whether the child has not been reaped yet (running, or a zombie): while
// it is not, its pid cannot be reused, so neither can the process group id
// that is that pid. Answers without reaping (WNOWAIT). EINTR is retried; a
// child reaped behind its Subprocess's back (ECHILD) is false; any other
// error is returned.
absl::StatusOr<bool> unreaped(int pidfd) {
  siginfo_t info = {};
  while (sys::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info,
                     WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) continue;
    if (errno == ECHILD) return false;
    return internal::errno_status(errno, "waitid WNOWAIT");
  }
  return true;
}

// Sends `signal` to the process group that the child `pid` leads, but only
// while the child is not reaped. A process group id is the pid of the
// process that made the group: once that leader is reaped and the group's
// last member is gone, the number is free, and a new process (a shell's
// job, another library's child) may lead a group with it; kill(-pgid) would
// then reach strangers. An unreaped leader (alive, or a zombie) pins the
// number, so the group this sends to is the child's own. The check and the
// kill are two calls: only a waitid(P_ALL, ...) elsewhere in this program,
// reaping the child in between, can break that (see subprocess.h).
// Members that left the group (setpgid, setsid) are not reached.
absl::Status signal_group(int pidfd, pid_t pid, int signal) {
  absl::StatusOr<bool> alive = unreaped(pidfd);
  if (!alive.ok()) return alive.status();
  if (!*alive) return internal::errno_status(ESRCH, "kill of the process group");
  if (sys::call("kill", [&] { return ::kill(-pid, signal); }) != 0 && errno != ESRCH) {
    return internal::errno_status(errno, absl::StrCat("kill(-", pid, ", ", signal_name(signal),
                                                      ") of the process group"));
  }
  return absl::OkStatus();
}

// Kills the child (SIGKILL) and reaps it; with `group`, its process group
// first (see signal_group: the leader is not reaped yet here). A group kill
// that fails is reported after the child is still killed and reaped. A
// kill of the child that fails leaves it alone unless it has ended already:
// waiting for a child that may run on could hang.
absl::Status kill_and_reap(const Child& child, ExitStatus* exit = nullptr) {
  absl::Status group;
  if (child.group) {
    group = signal_group(child.pidfd, child.pid, SIGKILL);
    if (absl::IsNotFound(group)) group = absl::OkStatus();  // reaped elsewhere: no group to kill
  }
  const int pidfd = child.pidfd;
  siginfo_t info = {};
  if (sys::pidfd_send_signal(pidfd, SIGKILL) != 0 && errno != ESRCH) {
    const int error = errno;
    (void)sys::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
    return internal::errno_status(error, "pidfd_send_signal SIGKILL");
  }
  while (sys::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED) != 0) {
    if (errno == EINTR) continue;
    if (errno == ECHILD) break;  // reaped already, by a waitid(P_ALL, ...) elsewhere
    return internal::errno_status(errno, "waitid");
  }
  if (exit != nullptr) {
    *exit = info.si_pid != 0 ? exit_status_of(info) : ExitStatus::killed(SIGKILL);
  }
  return group;
}

}  // namespace

// ---------------------------------------------------------------------------
// Configs and values

absl::Status EnvironmentVariable::validate() const {
  return ConfigRules(*this)
      .non_empty("name", name)
      .check(name.find('=') == std::string::npos, "name", "must not contain '='")
      .check(name.find('\0') == std::string::npos, "name", "must not contain a NUL byte")
      .check(value.reveal().find('\0') == std::string::npos, "value",
             "must not contain a NUL byte")
      .status();
}

absl::Status SubprocessConfig::validate() const {
  ConfigRules rules(*this);
  rules.check(!argv.empty(), "argv", "must not be empty: argv[0] is the program");
  for (size_t i = 0; i < argv.size(); ++i) {
    rules.check(i > 0 || !argv[0].empty(), "argv", "argv[0], the program, must not be empty");
    rules.check(argv[i].find('\0') == std::string::npos, "argv",
                absl::StrCat("argv[", i, "] must not contain a NUL byte"));
  }
  std::set<absl::string_view> names;
  for (size_t i = 0; i < environment.size(); ++i) {
    const std::string field = absl::StrCat("environment[", i, "]");
    rules.valid(field, environment[i].validate());
    rules.check(names.insert(environment[i].name).second, field,
                absl::StrCat(config_internal::quote_for_message(environment[i].name),
                             " is set twice"));
  }
  std::set<absl::string_view> removed;
  for (size_t i = 0; i < remove_environment.size(); ++i) {
    const std::string field = absl::StrCat("remove_environment[", i, "]");
    const std::string& name = remove_environment[i];
    rules.check(!name.empty(), field, "must not be empty");
    rules.check(name.find('=') == std::string::npos, field, "must not contain '='");
    rules.check(name.find('\0') == std::string::npos, field, "must not contain a NUL byte");
    const std::string quoted = config_internal::quote_for_message(name);
    rules.check(removed.insert(name).second, field, absl::StrCat(quoted, " is removed twice"));
    rules.check(!names.contains(name), field,
                absl::StrCat(quoted, " is also set in environment: set it or remove it"));
  }
  rules.check(working_directory.find('\0') == std::string::npos, "working_directory",
              "must not contain a NUL byte");
  rules.check(parent_death_signal >= 0 && parent_death_signal < NSIG, "parent_death_signal",
              absl::StrCat("must be 0 (none) or a signal number from 1 to ", NSIG - 1, ", not ",
                           parent_death_signal));
  std::set<int32_t> numbers;
  for (size_t i = 0; i < passed_fds.size(); ++i) {
    const std::string field = absl::StrCat("passed_fds[", i, "]");
    rules.in_range<int32_t>(field, passed_fds[i], 0, 1048575);
    rules.check(numbers.insert(passed_fds[i]).second, field,
                absl::StrCat("fd ", passed_fds[i], " is passed twice"));
  }
  return rules.status();
}

std::string ExitStatus::to_string() const {
  if (signal_ == 0) return absl::StrCat("exited with code ", code_);
  return absl::StrCat("killed by signal ", signal_, " (", signal_name(signal_), ")");
}

// ---------------------------------------------------------------------------
// The owner's rules

namespace subprocess_internal {

absl::Status ChildTraits::close(const Child& child) const {
  absl::Status status;
  if (!child.reaped && spawned_in.here_surely()) {
    status = kill_and_reap(child);
  }
  absl::Status closed = FdTraits::close(child.pidfd);
  if (!status.ok()) {
    return closed.ok() ? status
                       : absl::Status(status.code(),
                                      absl::StrCat(status.message(), "; then ", closed.message()));
  }
  return closed;
}

void ChildTraits::close_quietly(const Child& child) const noexcept {
  if (!child.reaped && spawned_in.here_surely()) {
    kill_and_reap(child).IgnoreError();
  }
  FdTraits::close_quietly(child.pidfd);
}

}  // namespace subprocess_internal

// ---------------------------------------------------------------------------
// Subprocess

absl::StatusOr<Subprocess> Subprocess::spawn(const SubprocessConfig& config,
                                             absl::Span<const FdView> passed) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  if (passed.size() != config.passed_fds.size()) {
    return internal::error_on(
        absl::StatusCode::kInvalidArgument, "spawn", program_for_messages(config),
        absl::StrCat("the config passes ", config.passed_fds.size(),
                     " descriptor(s) (passed_fds), but spawn() was given ", passed.size()));
  }
  internal::watch_forks();
  // Everything the child needs, made now: between clone3 and execve it may
  // not allocate.
  const std::vector<std::string> environment = child_environment(config);
  const std::vector<std::string> programs = candidates(config.argv[0], environment);
  std::vector<const char*> program_paths;
  program_paths.reserve(programs.size());
  for (const std::string& program : programs) program_paths.push_back(program.c_str());
  const std::vector<char*> argv = pointers(config.argv);
  const std::vector<char*> envp = pointers(environment);
  std::vector<int> sources;
  std::vector<int> targets(config.passed_fds.begin(), config.passed_fds.end());
  std::vector<int> copies(passed.size(), -1);
  for (FdView fd : passed) sources.push_back(fd.get());
  Plan plan = {};
  plan.floor = 3;
  for (int target : targets) plan.floor = std::max(plan.floor, target + 1);
  const StandardStream modes[3] = {config.standard_input, config.standard_output,
                                   config.standard_error};
  const std::string program = program_for_messages(config);
  bool any_null = false;
  // A piped stream is passed like passed_fds, after them: the child's end
  // goes with `sources`, this process's stays here, then in the Subprocess.
  std::optional<Pipe> pipes[3];
  for (int stream = 0; stream < 3; ++stream) {
    const bool named = std::find(targets.begin(), targets.end(), stream) != targets.end();
    plan.null_stream[stream] = modes[stream] == StandardStream::null && !named;
    any_null = any_null || plan.null_stream[stream];
    if (modes[stream] != StandardStream::piped || named) continue;
    absl::StatusOr<Pipe> pipe = make_pipe();
    if (!pipe.ok()) return internal::status_on(pipe.status(), "spawn", program);
    pipes[stream].emplace(*std::move(pipe));
    sources.push_back(stream == 0 ? pipes[stream]->reader.fd().get()
                                  : pipes[stream]->writer.fd().get());
    targets.push_back(stream);
    copies.push_back(-1);
  }
  Fd null_fd;
  if (any_null) {
    const int fd = sys::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return internal::errno_error_on(errno, "spawn", program, "open(\"/dev/null\")");
    null_fd = Fd(fd);
  }
  int report_fds[2];
  if (sys::pipe2(report_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return internal::errno_error_on(errno, "spawn", program, "pipe2 for the exec report");
  }
  Fd report_read(report_fds[0]);
  Fd report_write(report_fds[1]);

  plan.programs = program_paths.data();
  plan.program_count = program_paths.size();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.working_directory =
      config.working_directory.empty() ? nullptr : config.working_directory.c_str();
  plan.report_fd = report_write.get();
  plan.null_fd = any_null ? null_fd.get() : -1;
  plan.sources = sources.data();
  plan.targets = targets.data();
  plan.copies = copies.data();
  plan.passed_count = sources.size();  // passed, then pipes
  plan.parent_death_signal = config.parent_death_signal;
  plan.parent_pid = ::getpid();
  plan.new_process_group = config.new_process_group;

  int pidfd = -1;
  const pid_t pid = sys::clone_pidfd(&pidfd, &run_child, &plan);
  if (pid < 0) return internal::errno_error_on(errno, "spawn", program, "clone3");
  // Owned from here on: on any error below, the child is killed and reaped.
  Subprocess child(Handle(Child{pidfd, pid, config.new_process_group, false, false,
                                ExitStatus::exited(0)},
                          subprocess_internal::ChildTraits{internal::ProcessBound::with_pid()}),
                   config);
  // The child has run the program or exited by now (CLONE_VFORK). Its copy
  // of the write end closed either way; this process's goes too, so that a
  // read finds a report or nothing.
  report_write.reset();
  Report report;
  ssize_t got;
  do {
    got = sys::read(report_read.get(), &report, sizeof report);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno != EAGAIN) {  // EAGAIN: another process holds the write end; no report
    return internal::errno_error_on(errno, "spawn", program, "read of the exec report");
  }
  if (got == static_cast<ssize_t>(sizeof report)) {
    return child_error(config, passed, programs, report);  // the child is reaped on the way out
  }
  if (got > 0) {
    return internal::error_on(absl::StatusCode::kInternal, "spawn", program,
                              absl::StrCat("a short exec report (", got, " bytes)"));
  }
  // The child's ends close with `pipes`; this process keeps the others.
  if (pipes[0]) child.standard_input_.emplace(std::move(pipes[0]->writer));
  if (pipes[1]) child.standard_output_.emplace(std::move(pipes[1]->reader));
  if (pipes[2]) child.standard_error_.emplace(std::move(pipes[2]->reader));
  return child;
}

absl::StatusOr<Subprocess> Subprocess::open(const SubprocessConfig& config) {
  if (!config.passed_fds.empty() && config.validate().ok()) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "spawn", program_for_messages(config),
        absl::StrCat("the config passes ", config.passed_fds.size(),
                     " descriptor(s) (passed_fds): descriptors are resources, not data; "
                     "spawn(config, passed) or rebuild(passed) takes them"));
  }
  return spawn(config, {});
}

absl::StatusOr<Subprocess> Subprocess::rebuild() const {
  checked("rebuild()");
  return open(config_);
}

absl::StatusOr<Subprocess> Subprocess::rebuild(absl::Span<const FdView> passed) const {
  checked("rebuild()");
  return spawn(config_, passed);
}

Child Subprocess::checked(const char* operation) const {
  return child_.get_as(kName, operation, [this] { return resource(); });
}

Child Subprocess::checked_owner(const char* operation) const {
  const Child child = checked(operation);
  if (ABSL_PREDICT_FALSE(!process_.here())) {
    misuse_on(kName, operation, resource(),
              "in a fork()ed child: the process belongs to the process that spawned it, which "
              "alone waits for and kills it");
  }
  return child;
}

std::string Subprocess::resource() const {
  if (!child_.is_valid()) return program_resource(config_);
  return absl::StrCat(program_resource(config_), " pid ", child_.get().pid);
}

ExitStatus Subprocess::reaped(ExitStatus exit) {
  Child child = child_.release();  // re-adopted at once, marked exited
  child.exited = true;
  // A group leader stays a zombie until close(): it pins the process
  // group's id, so that close() can still kill what is left of the group
  // (see signal_group). Any other child was reaped by the waitid.
  child.reaped = !child.group;
  child.exit = exit;
  child_ = Handle(child);
  return exit;
}

pid_t Subprocess::pid() const { return checked("pid()").pid; }

FdView Subprocess::fd() const { return FdView(checked("fd()").pidfd); }

// waitid's options for wait(): a group leader is left a zombie (WNOWAIT).
static int wait_options(const Child& child) { return WEXITED | (child.group ? WNOWAIT : 0); }

absl::StatusOr<ExitStatus> Subprocess::wait() {
  const Child child = checked_owner("wait()");
  if (child.exited) return child.exit;
  siginfo_t info = {};
  while (sys::waitid(P_PIDFD, static_cast<id_t>(child.pidfd), &info, wait_options(child)) != 0) {
    if (errno != EINTR) return internal::errno_error_on(errno, "wait", resource());
  }
  return reaped(exit_status_of(info));
}

absl::StatusOr<ExitStatus> Subprocess::wait(absl::Duration timeout) {
  const Child child = checked_owner("wait()");
  if (child.exited) return child.exit;
  const internal::Deadline deadline = internal::Deadline::after(timeout);
  while (true) {
    siginfo_t info = {};
    if (sys::waitid(P_PIDFD, static_cast<id_t>(child.pidfd), &info,
                    wait_options(child) | WNOHANG) != 0) {
      if (errno == EINTR) continue;
      return internal::errno_error_on(errno, "wait", resource());
    }
    if (info.si_pid != 0) return reaped(exit_status_of(info));
    const int error = internal::wait_for(child.pidfd, POLLIN, deadline);
    if (error == ETIMEDOUT) {
      return internal::error_on(
          absl::StatusCode::kDeadlineExceeded, "wait", resource(),
          absl::StrCat("still running after ", absl::FormatDuration(timeout)));
    }
    if (error != 0) return internal::errno_error_on(error, "wait", resource(), "poll");
  }
}

absl::Status Subprocess::kill(int signal) {
  const Child child = checked_owner("kill()");
  if (child.exited) return absl::OkStatus();  // nothing left to signal
  if (sys::pidfd_send_signal(child.pidfd, signal) != 0) {
    return internal::errno_error_on(errno, "kill", resource(),
                                    absl::StrCat("sending ", signal_name(signal)));
  }
  return absl::OkStatus();
}

absl::Status Subprocess::kill_group(int signal) {
  const Child child = checked_owner("kill_group()");
  if (!child.group) {
    return internal::error_on(absl::StatusCode::kFailedPrecondition, "kill", resource(),
                              "the child leads no process group of its own: spawn it with "
                              "new_process_group, or kill() the child alone");
  }
  if (child.reaped) return absl::OkStatus();  // the group's id may be another's now
  return internal::status_on(signal_group(child.pidfd, child.pid, signal), "kill", resource());
}

absl::Status Subprocess::close() {
  checked("close()");
  const std::string resource = this->resource();  // the pid goes with the child
  absl::Status closed = internal::status_on(child_.close(), "close", resource);
  standard_input_.reset();
  standard_output_.reset();
  standard_error_.reset();
  return closed;
}

std::optional<PipeWriter> Subprocess::take_standard_input() {
  checked("take_standard_input()");
  return std::exchange(standard_input_, std::nullopt);
}

std::optional<PipeReader> Subprocess::take_standard_output() {
  checked("take_standard_output()");
  return std::exchange(standard_output_, std::nullopt);
}

std::optional<PipeReader> Subprocess::take_standard_error() {
  checked("take_standard_error()");
  return std::exchange(standard_error_, std::nullopt);
}

absl::Status Subprocess::end_now() {
  Child child = checked_owner("communicate()");
  if (child.reaped) return absl::OkStatus();
  ExitStatus exit = ExitStatus::killed(SIGKILL);
  absl::Status status = kill_and_reap(child, &exit);
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  child = child_.release();  // re-adopted at once, marked reaped
  if (!child.exited) child.exit = exit;
  child.exited = true;
  child.reaped = true;
  child_ = Handle(child);
  return status;
}

namespace {

// One pipe end communicate() moves bytes through.
struct Stream {
  const char* name;   // "standard output", for messages
  int fd;             // -1 once done
  std::string* text;  // what was read (readers); nullptr for the writer
};

}  // namespace

absl::StatusOr<SubprocessOutput> Subprocess::communicate(absl::string_view input,
                                                         absl::Duration timeout,
                                                         size_t max_bytes) {
  const Child child = checked_owner("communicate()");
  const std::string resource = this->resource();
  if (!input.empty() && !standard_input_) {
    return internal::error_on(absl::StatusCode::kFailedPrecondition, "communicate", resource,
                              absl::StrCat("there are ", input.size(),
                                           " bytes of input, but standard_input is not piped "
                                           "(or was taken)"));
  }
  const internal::Deadline deadline = internal::Deadline::after(timeout);
  // Taken: each end closes when this returns, whatever happens.
  std::optional<PipeWriter> in = take_standard_input();
  std::optional<PipeReader> out = take_standard_output();
  std::optional<PipeReader> err = take_standard_error();
  SubprocessOutput output;
  // Gives up: the child and its group are killed and reaped first, so that
  // nothing runs on unread or is left a zombie.
  const auto fail = [&](absl::Status status) -> absl::Status {
    absl::Status ended = end_now();
    if (!ended.ok() && !absl::IsNotFound(ended)) {
      return absl::Status(status.code(), absl::StrCat(status.message(), "; then ",
                                                      internal::status_on(ended, "close",
                                                                          resource)
                                                          .message()));
    }
    return status;
  };
  // Whether the child is known to have exited (see the loop below).
  bool exit_seen = child.reaped;  // an unreaped leader is polled: readable at once
  const auto timed_out = [&] {
    // Without a group, a child that exited leaves its descendants alone:
    // say who keeps the pipes open, and that nothing was killed.
    const std::string what =
        exit_seen && !child.group
            ? "; the child has exited, but a process it started (not in a group of the child's "
              "own: no new_process_group) still holds a pipe open, and runs on"
            : "; killed (SIGKILL)";
    return fail(internal::error_on(
        absl::StatusCode::kDeadlineExceeded, "communicate", resource,
        absl::StrCat("not done after ", absl::FormatDuration(timeout), what)));
  };
  // Closes one end now, reporting what close(2) said.
  const auto finish = [&](auto& end) -> absl::Status {
    absl::Status closed = end->close();
    end.reset();
    return closed.ok() ? closed : internal::status_on(closed, "communicate", resource);
  };
  if (in && input.empty()) {
    if (absl::Status s = finish(in); !s.ok()) return fail(s);
  }
  Stream streams[3] = {{"standard input", in ? in->fd().get() : -1, nullptr},
                       {"standard output", out ? out->fd().get() : -1, &output.standard_output},
                       {"standard error", err ? err->fd().get() : -1, &output.standard_error}};
  // Non-blocking, so that one call never waits on one pipe while another
  // fills: poll(2) says which to serve. The ends are this call's alone.
  for (const Stream& stream : streams) {
    if (stream.fd >= 0 && sys::fcntl(stream.fd, F_SETFL, O_NONBLOCK) != 0) {
      return fail(internal::errno_error_on(errno, "communicate", resource,
                                           absl::StrCat("fcntl O_NONBLOCK on ", stream.name)));
    }
  }
  size_t written = 0;
  constexpr size_t kChunk = size_t{64} * 1024;
  // The pidfd is polled too, until the child exits: a descendant can hold
  // a pipe open after it (a shell's `cmd &`), and reading to the end would
  // then wait for the descendant. With a group of its own, what is left of
  // the group is killed then, as close() would, so the pipes end (what they
  // hold is still read); without one, reading goes on until the pipes end
  // or the timeout.
  constexpr int kPidfd = 3;
  while (true) {
    pollfd entries[4];
    int which[4];
    nfds_t count = 0;
    for (int i = 0; i < 3; ++i) {
      if (streams[i].fd < 0) continue;
      entries[count] = pollfd{streams[i].fd, static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
      which[count++] = i;
    }
    if (count == 0) break;
    if (!exit_seen) {
      entries[count] = pollfd{child.pidfd, POLLIN, 0};
      which[count++] = kPidfd;
    }
    if (deadline.passed()) return timed_out();
    const int ready = sys::poll(entries, count, deadline.poll_milliseconds());
    if (ready < 0) {
      if (errno == EINTR) continue;
      return fail(internal::errno_error_on(errno, "communicate", resource, "poll"));
    }
    if (ready == 0) continue;  // the deadline, seen at the top
    // The child's exit closes its ends before its pidfd turns readable, so
    // a pipe only the child held is ready (data, or its end) whenever the
    // pidfd is. The pidfd counts only when no pipe is: then someone else
    // holds one. (So a child that held its pipes alone makes the same
    // calls as before the pidfd was polled.)
    const bool pipe_ready = std::any_of(entries, entries + count, [&](const pollfd& entry) {
      return entry.fd != child.pidfd && entry.revents != 0;
    });
    for (nfds_t k = 0; k < count; ++k) {
      if (entries[k].revents == 0) continue;
      if (which[k] == kPidfd) {  // the child exited (it stays unreaped)
        if (pipe_ready) continue;
        exit_seen = true;
        if (child.group) {
          // The leader is not reaped, so the group's id is still its own
          // (see signal_group). NotFound: reaped elsewhere, nothing to kill.
          absl::Status killed = signal_group(child.pidfd, child.pid, SIGKILL);
          if (!killed.ok() && !absl::IsNotFound(killed)) {
            return fail(internal::status_on(killed, "communicate", resource));
          }
        }
        continue;
      }
      Stream& stream = streams[which[k]];
      if (which[k] == 0) {
        const size_t size = std::min(kChunk, input.size() - written);
        const internal::Transferred sent = internal::transfer(
            size, internal::TransferMode::kSome, internal::ZeroBytes::kError, [&](size_t done) {
              return sys::write_without_sigpipe(stream.fd, input.data() + written + done,
                                                size - done);
            });
        written += sent.done;
        if (sent.error == EAGAIN) continue;
        // EPIPE: the child closed its stdin or exited; what it did not read
        // is dropped, as documented.
        if (sent.error != 0 && sent.error != EPIPE) {
          return fail(internal::errno_error_on(
              sent.error, "communicate", resource,
              absl::StrCat("write to standard input after ", written, " of ", input.size(),
                           " bytes")));
        }
        if (sent.error == EPIPE || written == input.size()) {
          stream.fd = -1;
          if (absl::Status s = finish(in); !s.ok()) return fail(s);
        }
        continue;
      }
      std::string& text = *stream.text;
      const size_t had = text.size();
      // At most one byte past max_bytes: the byte that says "more".
      // (Written so that max_bytes = SIZE_MAX does not wrap to 0.)
      const size_t room = max_bytes - had;
      const size_t want = room < kChunk ? room + 1 : kChunk;
      text.resize(had + want);
      const internal::Transferred got = internal::transfer(
          want, internal::TransferMode::kSome, internal::ZeroBytes::kEnd,
          [&](size_t done) { return sys::read(stream.fd, text.data() + had + done, want - done); });
      text.resize(had + got.done);
      if (got.error == EAGAIN) continue;
      if (got.error != 0) {
        return fail(internal::errno_error_on(got.error, "communicate", resource,
                                             absl::StrCat("read of ", stream.name, " after ",
                                                          had, " bytes")));
      }
      if (text.size() > max_bytes) {
        return fail(internal::error_on(
            absl::StatusCode::kResourceExhausted, "communicate", resource,
            absl::StrCat("its ", stream.name, " is longer than max_bytes (", max_bytes,
                         " bytes); killed (SIGKILL)")));
      }
      if (got.done == 0) {  // the end of the stream
        stream.fd = -1;
        if (absl::Status s = which[k] == 1 ? finish(out) : finish(err); !s.ok()) return fail(s);
      }
    }
  }
  // (wait() without a timeout makes one call: the same calls every run.)
  absl::StatusOr<ExitStatus> exit = deadline.is_never() ? wait() : wait(deadline.left());
  if (!exit.ok()) {
    if (absl::IsDeadlineExceeded(exit.status())) return timed_out();
    return fail(exit.status());
  }
  output.exit = *exit;
  return output;
}

}  // namespace uncopyable
