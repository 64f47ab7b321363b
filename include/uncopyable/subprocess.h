// uncopyable/subprocess.h: Subprocess, a child process held by its pidfd, and
// SubprocessConfig, the data behind it.
//
//   absl::StatusOr<uncopyable::Pipe> out = uncopyable::make_pipe();
//   if (!out.ok()) return out.status();
//   uncopyable::SubprocessConfig config{
//       .argv = {"git", "rev-parse", "HEAD"},      // "git" is looked up on PATH
//       .working_directory = "/src/app",
//       .passed_fds = {1},                         // the child's stdout is...
//   };
//   absl::StatusOr<uncopyable::Subprocess> git =
//       uncopyable::Subprocess::spawn(config, {out->writer.fd()});  // ...this
//   if (!git.ok()) return git.status();  // `spawn subprocess "git" (looked up
//       // on PATH): execve: No such file or directory [ENOENT]`
//   (void)out->writer.close();           // the child holds its own copy
//   absl::StatusOr<std::string> head = out->reader.read_to_end(4096);
//   absl::StatusOr<uncopyable::ExitStatus> status = git->wait(absl::Seconds(10));
//   // status->success(), status->code() == 0, or status->signal() == SIGKILL...
//
// To feed a child and read both its outputs, pipe them and communicate():
//   absl::StatusOr<uncopyable::Subprocess> sorter = uncopyable::Subprocess::open(
//       {.argv = {"sort"}, .standard_input = uncopyable::StandardStream::piped,
//        .standard_output = uncopyable::StandardStream::piped,
//        .standard_error = uncopyable::StandardStream::piped});
//   absl::StatusOr<uncopyable::SubprocessOutput> out =
//       sorter->communicate("b\na\n", absl::Seconds(10));  // out->standard_output "a\nb\n"
//
// Ownership: a Subprocess owns its child process through a pidfd, and the
// config it was spawned from; it moves, never copies. It is the child's only
// parent: nothing else reaps it. When a Subprocess is closed, destroyed or
// assigned over while its child still runs, the child is killed (SIGKILL)
// and reaped before the pidfd closes, so no child outlives a handle that is
// closed or destroyed, and none is left a zombie (unlike std::thread, which
// aborts, or Rust's Child and Python's Popen, which let the child run on
// unwaited). To let a child finish, wait() for it first.
//
// The child's own children can go with it: with new_process_group the child
// leads a new process group, and closing kills that whole group, also after
// wait() (a shell's `sleep 30 &` would otherwise run on, holding the pipes
// it inherited open, so that reading them to the end hangs). It is off by
// default, as in folly and Rust (see new_process_group for why).
// Descendants that leave the group (setsid(2), setpgid(2): daemons, shells
// running job control, `setsid cmd`) are not reached. See
// new_process_group for what a group of its own costs at a terminal.
//
// A parent that dies without running destructors (an abort, every
// `uncopyable:` misuse among them, SIGKILL, the OOM killer) closes no
// handle, and its child runs on orphaned, as with folly and Rust, unless
// the config sets parent_death_signal (SIGKILL, say; prctl
// PR_SET_PDEATHSIG). Linux sends that when the THREAD that spawned the
// child ends, not the process: a child spawned from a thread that then
// exits is killed with it, even while its Subprocess lives on in another
// thread (its wait() then says "killed by signal 9 (SIGKILL)"). So it is
// off by default; set it when children are spawned from a thread that
// lives as long as they do (the main thread, a pool's).
//
// Signals go through the pidfd (pidfd_send_signal), never through the pid:
// a pid can be reused once its process is reaped, a pidfd cannot. The child
// is an ordinary child otherwise (its exit sends SIGCHLD; execve(2) makes
// it so whatever clone3 asked), so a waitpid(-1, ...) elsewhere in the
// program, or SIGCHLD set to SIG_IGN, can reap it behind its Subprocess's
// back: then wait() is FailedPrecondition [ECHILD] and kill() NotFound
// [ESRCH], and never reaches another process. Poll fd() to learn that it
// exited without reaping it.
//
// Errors are absl::Status values naming the operation and the program:
//   spawn subprocess "/no/such": execve: No such file or directory [ENOENT]
//   spawn subprocess "make" (looked up on PATH): chdir("/missing"): No such
//     file or directory [ENOENT]
//   wait subprocess "sleep" pid 4242: still running after 100ms  (DeadlineExceeded)
// A program that cannot be run is a Status from spawn(), never a child that
// exits 127. Messages quote argv[0] only (escaped, cut past 200 bytes). A
// printed config shows all of argv, as ps(1) would, but environment values
// only as ***: pass secrets in the environment, never in argv.
//
// Misuse aborts with one line: any use of a moved-from or closed Subprocess
// ("uncopyable: Subprocess::wait() on a closed handle (subprocess \"sleep\")"),
// closing twice, and wait() or kill() in a fork()ed child on the parent's
// Subprocess (the child process belongs to the process that spawned it).
//
// Needs Linux 5.11 or later (clone3, pidfds, close_range with
// CLOSE_RANGE_CLOEXEC).
#ifndef UNCOPYABLE_SUBPROCESS_H_
#define UNCOPYABLE_SUBPROCESS_H_

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/fd.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/pipe.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/secret.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// What a child's standard stream (0, 1 or 2) is when passed_fds does not
// name it.
enum class StandardStream {
  inherit,  // this process's own descriptor of that number, as it is
  null,     // /dev/null, opened for reading and writing
  piped,    // a new pipe; the Subprocess holds this process's end (see
            // communicate() and take_standard_input())
};
UNCOPYABLE_ENUM(StandardStream, inherit, null, piped)

// One variable of a child's environment.
struct EnvironmentVariable {
  UNCOPYABLE_CONFIG(EnvironmentVariable, name, value)

  std::string name{};            // required: "LANG", "PATH", ...; no '=' or NUL
  Secret<std::string> value{};   // "": set and empty; never printed (tokens live here)

  static constexpr absl::string_view kRequired[] = {"name"};

  // The name is not empty and holds no '=' or NUL; the value holds no NUL.
  absl::Status validate() const;
};

// Everything needed to spawn a program again: plain data. The descriptors a
// child gets are resources, not data: the config says only which numbers the
// child gets (passed_fds), and spawn() takes the descriptors themselves.
struct SubprocessConfig {
  UNCOPYABLE_CONFIG(SubprocessConfig, argv, inherit_environment, environment,
                    remove_environment, working_directory, passed_fds, standard_input, standard_output,
                    standard_error, parent_death_signal, new_process_group)

  // Required: the program and its arguments; argv[0] is the program. A name
  // with a '/' is a path (relative ones from working_directory); one without
  // is looked up in the directories of the PATH the child will have (its
  // environment's; /bin:/usr/bin if it has none; empty entries are skipped,
  // never taken as "."), as execvp(3) does, except that a file without a #!
  // line is not handed to /bin/sh (ENOEXEC). The child sees argv as given.
  std::vector<std::string> argv{};
  // Start from this process's environment as it is at spawn time (read as
  // execvp(3) reads it, without a lock: no setenv() in another thread
  // meanwhile); false: from nothing.
  bool inherit_environment = true;
  // Set on top of that (replacing inherited ones of the same name); each
  // name at most once.
  std::vector<EnvironmentVariable> environment{};
  // Names of inherited variables the child does not get (Rust's
  // env_remove): a token or password this process holds (PGPASSWORD,
  // AWS_SECRET_ACCESS_KEY) need not reach every program it runs. Setting one
  // to "" in `environment` would still pass the name. Each name at most
  // once, valid as an EnvironmentVariable's, and not also set in
  // `environment`. A name nothing defines is fine. Names are not secrets:
  // they are printed and in JSON as they are.
  std::vector<std::string> remove_environment{};
  // Where the child starts; "": this process's working directory.
  std::string working_directory{};
  // The child's descriptor numbers that spawn() fills, in order, from the
  // descriptors it is given. The child inherits these, 0, 1 and 2 (see
  // below), and no other: every other descriptor is closed at exec, also
  // the ones this process opened without O_CLOEXEC.
  std::vector<int32_t> passed_fds{};
  // 0, 1 and 2 unless passed_fds names them: this process's, /dev/null, or
  // a new pipe whose other end the Subprocess holds (piped).
  StandardStream standard_input = StandardStream::inherit;
  StandardStream standard_output = StandardStream::inherit;
  StandardStream standard_error = StandardStream::inherit;

  // JSON and URL forms without argv are refused when parsed.
  static constexpr absl::string_view kRequired[] = {"argv"};

  // The signal the child gets when its parent dies without closing the
  // Subprocess (an abort, SIGKILL, the OOM killer); 0 (the default, as
  // folly's parentDeathSignal and Rust's Command): none, the child runs on
  // orphaned. Set in the child before exec (prctl PR_SET_PDEATHSIG), and
  // sent at once if the parent died before that. SIGKILL makes "no child
  // outlives its Subprocess" hold even when no destructor runs, but Linux
  // sends it when the spawning THREAD exits, not the process: a child
  // spawned from a short-lived thread (a std::thread that spawns and
  // returns, a task on a pool that retires threads) would be killed then,
  // while its Subprocess lives on. That surprise is why it is not the
  // default: set it when the spawning thread lives as long as the
  // children (the main thread, a pool's). The program may change it
  // (prctl) or lose it (exec of a set-user-ID or set-group-ID program, or
  // one with file capabilities, clears it).
  int32_t parent_death_signal = 0;
  // The child leads a process group of its own (setpgid(0, 0) before exec;
  // folly's processGroupLeader(), Rust's process_group(0)), and closing or
  // destroying the Subprocess kills (SIGKILL) the whole group, not only the
  // child: what it started (a shell's pipeline, make's jobs, `cmd &`) ends
  // with it, and no descendant keeps a pipe open after it. kill_group()
  // signals the group. False by default, as in folly and Rust, which
  // leave the child in this process's group: when this process runs at a
  // terminal, a child in a group of its own is not in the terminal's
  // foreground group, so Ctrl-C (SIGINT), Ctrl-\ and Ctrl-Z reach this
  // process and not the child (forward them with kill_group()), and a
  // child that reads the terminal (a password prompt: git, ssh, sudo) or
  // changes its modes is stopped by SIGTTIN (SIGTTOU) for good: a wait()
  // that never returns. Set it true for a non-interactive child that
  // starts others (a shell script, make), so that "nothing a Subprocess
  // started outlives it" holds for them too; without it, its descendants
  // outlive it as in folly and Rust.
  bool new_process_group = false;

  // argv is not empty and argv[0] is not empty; no NUL in argv, the
  // environment or the working directory; each environment variable valid
  // and named once; each removed name valid, named once and not also set;
  // passed_fds from 0 to 1048575, each named once;
  // parent_death_signal 0 or a signal number (1 to 64).
  absl::Status validate() const;
};

// How a child process ended: it exited with a code, or a signal killed it.
class ExitStatus {
 public:
  // A child that exited with `code` (0 to 255).
  static constexpr ExitStatus exited(int code) { return ExitStatus(code, 0); }
  // A child that signal `signal` killed.
  static constexpr ExitStatus killed(int signal) { return ExitStatus(0, signal); }

  // Exited with code 0.
  [[nodiscard]] constexpr bool success() const { return signal_ == 0 && code_ == 0; }
  // The exit code, if it exited.
  [[nodiscard]] constexpr std::optional<int> code() const {
    return signal_ == 0 ? std::optional<int>(code_) : std::nullopt;
  }
  // The signal that killed it, if one did.
  [[nodiscard]] constexpr std::optional<int> signal() const {
    return signal_ != 0 ? std::optional<int>(signal_) : std::nullopt;
  }

  // "exited with code 3", "killed by signal 9 (SIGKILL)".
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(ExitStatus, ExitStatus) = default;
  template <typename Sink>
  friend void AbslStringify(Sink& sink, ExitStatus status) {
    sink.Append(status.to_string());
  }
  friend std::ostream& operator<<(std::ostream& out, ExitStatus status) {
    return out << status.to_string();
  }

 private:
  constexpr ExitStatus(int code, int signal) : code_(code), signal_(signal) {}
  int code_;
  int signal_;
};

// What communicate() collected: how the child ended and all it wrote.
struct SubprocessOutput {
  ExitStatus exit = ExitStatus::exited(0);
  std::string standard_output;  // "" for a stream that was not piped
  std::string standard_error;   // the same
};

namespace subprocess_internal {

// What a Subprocess holds: the pidfd, and what it needs to know to close it
// honestly. Plain values, so that UniqueHandle owns it.
struct Child {
  int pidfd;                // the owned descriptor; negative: none (see vacant())
  pid_t pid;                // for messages, and the process group it leads
  bool group;               // it leads a process group of its own (new_process_group)
  bool exited;              // wait() saw it end: `exit` says how
  bool reaped;              // collected: nothing left to kill or reap
  ExitStatus exit;          // how it ended, once exited
  friend constexpr bool operator==(const Child&, const Child&) = default;
};

// The owner's rules for a child: closing kills (SIGKILL) and reaps it, in the
// process that spawned it and unless it was reaped already, then closes the
// pidfd. In a fork()ed child, closing closes that process's copy of the
// pidfd and nothing else. The process it was spawned in is the traits' own
// state (a ProcessBound made with the owner).
struct ChildTraits {
  using value_type = Child;
  static constexpr std::string_view kName = "Subprocess";
  static constexpr Child invalid() noexcept { return vacant(HandleState::kEmpty); }
  static constexpr Child vacant(HandleState state) noexcept {
    return Child{-static_cast<int>(state), 0, false, false, false, ExitStatus::exited(0)};
  }
  static constexpr bool is_valid(const Child& child) noexcept { return child.pidfd >= 0; }
  // Kills and reaps (see above), then closes the pidfd. A kill that fails
  // leaves a child that runs on unreaped (it is never waited for, which
  // could hang): reported, and the only way one is left behind.
  absl::Status close(const Child& child) const;
  void close_quietly(const Child& child) const noexcept;

  internal::ProcessBound spawned_in;  // only this process kills and reaps
};

}  // namespace subprocess_internal

// A child process. See the top of this file.
class Subprocess {
 public:
  using config_type = SubprocessConfig;
  static constexpr char kName[] = "Subprocess";

  // Spawns the program `config` describes, giving the child `passed[i]` as
  // its descriptor `config.passed_fds[i]` (the child gets its own copy; the
  // caller keeps, and should close, its own). The config is validated first,
  // and `passed` must have one descriptor per number (InvalidArgument
  // otherwise). Returns once the child runs the program; a program that
  // cannot be run (not found, not executable, a working directory that is
  // missing, a passed descriptor that is not open) is an error naming the
  // program, the step and the errno, and the child that tried is reaped.
  //
  // The child starts with no signal blocked (as Rust's Command does; signals
  // this process ignores stay ignored, as exec(2) keeps them).
  [[nodiscard]] static absl::StatusOr<Subprocess> spawn(const SubprocessConfig& config,
                                                        absl::Span<const FdView> passed);
  // spawn() with no descriptors to pass, for configs that pass none (an
  // error, FailedPrecondition, for one that names passed_fds).
  [[nodiscard]] static absl::StatusOr<Subprocess> open(const SubprocessConfig& config);

  // What it was spawned from. Available until the Subprocess is moved from.
  [[nodiscard]] const SubprocessConfig& config() const { return config_; }

  // How messages name it: subprocess "sleep" pid 4242 (argv[0] quoted, cut
  // past 200 bytes); without the pid once closed.
  [[nodiscard]] std::string resource() const;

  // Spawns the same program again from config(): a new, independent child,
  // whether this one still runs or not. A config with passed_fds needs the
  // descriptors again, since they are resources, not data: rebuild(passed);
  // rebuild() is then FailedPrecondition.
  [[nodiscard]] absl::StatusOr<Subprocess> rebuild() const;
  [[nodiscard]] absl::StatusOr<Subprocess> rebuild(absl::Span<const FdView> passed) const;

  // The child's process id, for logs. Do not signal it by number: kill().
  [[nodiscard]] pid_t pid() const;
  // The pidfd, borrowed: poll it for POLLIN, which means the child exited.
  [[nodiscard]] FdView fd() const;

  // Waits until the child exits and reaps it; returns how it ended. Once it
  // is reaped, every later wait() returns the same at once. A child that
  // leads its process group (new_process_group) is left a zombie until
  // close() instead: an unreaped leader keeps the group's id from being
  // reused, so that close() and kill_group() still reach the group safely
  // (its pid stays taken meanwhile, as for any zombie).
  [[nodiscard]] absl::StatusOr<ExitStatus> wait();
  // The same, giving up after `timeout`: DeadlineExceeded, and the child runs
  // on (kill() it, or wait again). A timeout of 0 only looks.
  [[nodiscard]] absl::StatusOr<ExitStatus> wait(absl::Duration timeout);

  // Sends `signal` to the child through its pidfd. A child that has exited
  // but is not yet reaped takes it and nothing happens; one that wait()
  // reaped is not signalled at all (OK). An invalid signal number is
  // InvalidArgument. The child alone: its descendants get nothing (see
  // kill_group()).
  [[nodiscard]] absl::Status kill(int signal);

  // Sends `signal` to the child's process group: the child and every
  // descendant that stayed in its group (kill(2) of -pid). Only for a child
  // spawned with new_process_group (FailedPrecondition otherwise: the group
  // would be this process's own). Sent only while the child is not reaped,
  // so that the group's id cannot have been reused (after wait(), the child
  // is a zombie until close() for that reason); a child reaped behind its
  // Subprocess's back is NotFound [ESRCH], and nothing is sent. An invalid
  // signal number is InvalidArgument; 0 only checks.
  [[nodiscard]] absl::Status kill_group(int signal);

  // Writes `input` to the child's piped standard input and closes it, reads
  // its piped standard output and standard error at the same time until
  // both end, then waits for the child to exit (Rust's output(), folly's
  // communicate()). One poll(2) loop serves all three pipes, so a child
  // that fills one pipe while this process would be reading the other
  // cannot deadlock it, as reading one stream to its end and then the
  // other does once the child writes 64 KiB to the other. Takes the pipes
  // the Subprocess holds (each is closed when it returns); a stream that is
  // not piped, or was taken, reads as "". Input the child does not read
  // (it exits or closes its stdin first) is dropped, not an error.
  // A pipe ends when every process holding its other end has closed it,
  // and the child's descendants inherit those ends (a shell's `cmd &`).
  // So once the child has exited, with new_process_group the rest of its
  // group is killed (SIGKILL, as close() would) and the pipes are read to
  // their end, so that `sh -c 'sleep 600 & echo done'` returns "done\n" at
  // once; descendants that left the group are not reached. Without
  // new_process_group nothing is killed: reading goes on until every
  // descendant holding a pipe has closed it, or the timeout (the default
  // waits for ever; folly's communicate() and Rust's output() wait too).
  //   - non-empty `input` without a piped standard input:
  //     FailedPrecondition, checked before anything else: the child is
  //     left running and its pipes stay held, as if the call was not made;
  //   - a stream longer than `max_bytes`: ResourceExhausted naming it;
  //   - not done after `timeout` (from the call): DeadlineExceeded;
  //   - a failed system call: its Status, naming the step and the errno;
  // and in each of these but the first, the child (and its process group,
  // with new_process_group) is killed and reaped first: nothing is left
  // running or a zombie (wait() then says "killed by signal 9 (SIGKILL)");
  // without new_process_group its descendants are not killed. Unlike
  // Rust's output(), the output is bounded; unlike folly's communicate(), a
  // timeout is offered.
  [[nodiscard]] absl::StatusOr<SubprocessOutput> communicate(
      absl::string_view input = {}, absl::Duration timeout = absl::InfiniteDuration(),
      size_t max_bytes = kDefaultOutputLimit);
  static constexpr size_t kDefaultOutputLimit = size_t{64} << 20;  // 64 MiB per stream

  // The Subprocess's end of a piped standard stream, for a caller who moves
  // the bytes itself (Rust's child.stdin.take()): nullopt if the stream is
  // not piped or was taken already. Read both outputs together (poll their
  // fd()s) or use communicate(): reading one to its end first can deadlock.
  [[nodiscard]] std::optional<PipeWriter> take_standard_input();
  [[nodiscard]] std::optional<PipeReader> take_standard_output();
  [[nodiscard]] std::optional<PipeReader> take_standard_error();

  // Kills (SIGKILL) and reaps the child if it is still running (with
  // new_process_group: kills its process group first, whether the child
  // still runs or wait() saw it end), then closes the pidfd, reporting any
  // failure; the handle is closed either way. Piped ends it still holds
  // are closed too.
  // wait() first to let the child finish and learn how it ended. In a
  // fork()ed child of the spawning process, closes that process's copy of
  // the pidfd only. Closing twice, or any use after, is misuse.
  [[nodiscard]] absl::Status close();

 private:
  using Handle = UniqueHandle<subprocess_internal::ChildTraits>;
  Subprocess(Handle child, SubprocessConfig config)
      : child_(std::move(child)), config_(std::move(config)) {}

  // The held child, or abort naming `operation`.
  subprocess_internal::Child checked(const char* operation) const;
  // The same, and abort unless this process spawned it.
  subprocess_internal::Child checked_owner(const char* operation) const;
  // Notes that the child was reaped, and how it ended.
  ExitStatus reaped(ExitStatus exit);
  // Kills (SIGKILL) and reaps the child, and its group, now (communicate()
  // giving up); the handle stays open, its child reaped.
  absl::Status end_now();

  Handle child_;
  SubprocessConfig config_;
  // This process's ends of the piped standard streams.
  std::optional<PipeWriter> standard_input_;
  std::optional<PipeReader> standard_output_;
  std::optional<PipeReader> standard_error_;
  // The process that spawned it: only it waits for and kills the child.
  internal::ProcessBound process_;
  // (Moves are the members' own: the owner kills and reaps what it held
  // before it takes another child.)
};

template <>
struct HandleFor<SubprocessConfig> {
  using type = Subprocess;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_SUBPROCESS_H_
