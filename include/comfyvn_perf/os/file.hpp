// comfyvn_perf — the OS layer's files: read whole files, write atomically.
#pragma once

#include <sys/types.h>  // mode_t

#include <cstddef>      // size_t
#include <string>       // paths, contents, messages
#include <string_view>  // text to write

namespace comfyvn::perf::os {

inline constexpr std::size_t kDefaultMaxFileBytes = std::size_t{1} << 20;

// strerror, without its thread-safety problems.
std::string errno_text(int e);

struct FileRead {
  enum Status { missing, ok, failed } status = missing;
  std::string text;     // for `ok`
  std::string problem;  // for `failed`
};

// Reads `path` whole. A missing file is `missing` (not a failure). A file
// over `max_bytes` fails, or with `truncate` yields its first `max_bytes`
// (procfs files, whose size is not known in advance).
FileRead read_file(const std::string& path, std::size_t max_bytes = kDefaultMaxFileBytes,
                   bool truncate = false);

// What a path that is not a regular file is, for a message a person can act on.
const char* file_kind(mode_t mode) noexcept;

// Like read_file, for files a person edits (config files): only a regular
// file is read. The open is non-blocking, so a FIFO at the path (which a
// plain open() would wait on forever for a writer) or a device fails at once
// with "cannot read: not a regular file (a FIFO)" instead of hanging the caller; a
// directory or /dev/zero fails the same way rather than erroring late or
// reading forever. read_file keeps its behaviour for procfs and sysfs, whose
// files are not all regular.
FileRead read_regular_file(const std::string& path, std::size_t max_bytes = kDefaultMaxFileBytes);

bool file_exists(const std::string& path);

// The directory part of `path` ("." for a bare name, "/" for the root).
std::string parent_dir(const std::string& path);

// `path` made absolute against the current working directory.
std::string absolute(std::string path);

// Creates `dir` and its parents as needed. Returns "" on success.
std::string ensure_dir(const std::string& dir);

// Temp file in the same directory, flushed to disk, then renamed over the
// target: a reader sees the old file or the new one, never a torn one, and a
// failure leaves no partial file behind. Keeps the target's permissions.
// Returns "" on success, else why nothing was written.
std::string write_atomically(const std::string& path, std::string_view text);

}  // namespace comfyvn::perf::os

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <fcntl.h>     // open
#include <sys/stat.h>  // stat, mkdir, fchmod
#include <unistd.h>    // read, write, fsync, close, rename, unlink, getpid, getcwd

#include <atomic>        // temp-file counter
#include <cerrno>        // errno
#include <climits>       // PATH_MAX
#include <system_error>  // thread-safe errno messages

namespace comfyvn::perf::os {

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

namespace detail {

// Opens `path` for reading with `flags`, again when a signal interrupts. On
// failure returns -1 with `r` saying why: a missing file leaves it `missing`.
int open_for_read(const std::string& path, int flags, FileRead& r) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0 && errno != ENOENT && errno != ENOTDIR) {
    r.status = FileRead::failed;
    r.problem = "cannot open: " + errno_text(errno);
  }
  return fd;
}

// Reads the open `fd` to its end and closes it: what read_file and
// read_regular_file return once the file is open. Over `max_bytes`: failed,
// or with `truncate` the first `max_bytes`. The text is kept only when `ok`.
FileRead read_descriptor(int fd, std::size_t max_bytes, bool truncate) {
  FileRead r;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.status = FileRead::failed;
      r.problem = "cannot read: " + errno_text(errno);
      break;
    }
    if (n == 0) {
      r.status = FileRead::ok;
      break;
    }
    const auto got = static_cast<std::size_t>(n);
    if (r.text.size() + got > max_bytes) {
      if (truncate) {
        r.text.append(buf, max_bytes - r.text.size());
        r.status = FileRead::ok;
        break;
      }
      r.status = FileRead::failed;
      r.problem = max_bytes == kDefaultMaxFileBytes
                      ? std::string("larger than 1 MiB")
                      : "larger than " + std::to_string(max_bytes) + " bytes";
      break;
    }
    r.text.append(buf, got);
  }
  ::close(fd);
  if (r.status != FileRead::ok) r.text.clear();
  return r;
}

}  // namespace detail

FileRead read_file(const std::string& path, std::size_t max_bytes, bool truncate) {
  FileRead r;
  const int fd = detail::open_for_read(path, O_RDONLY | O_CLOEXEC, r);
  if (fd < 0) return r;
  return detail::read_descriptor(fd, max_bytes, truncate);
}

const char* file_kind(mode_t mode) noexcept {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

FileRead read_regular_file(const std::string& path, std::size_t max_bytes) {
  FileRead r;
  const int fd = detail::open_for_read(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, r);
  if (fd < 0) return r;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    r.status = FileRead::failed;
    r.problem = "cannot stat: " + errno_text(errno);
    ::close(fd);
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.status = FileRead::failed;
    r.problem = std::string("cannot read: not a regular file (") + file_kind(st.st_mode) + ")";
    ::close(fd);
    return r;
  }
  return detail::read_descriptor(fd, max_bytes, /*truncate=*/false);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string parent_dir(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string absolute(std::string path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return path;
  std::string out(buf);
  if (out.back() != '/') out.push_back('/');
  if (path.compare(0, 2, "./") == 0) path.erase(0, 2);
  return out + path;
}

std::string ensure_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? std::string() : "'" + dir + "' is not a directory";
  }
  if (errno != ENOENT) return "cannot use directory '" + dir + "': " + errno_text(errno);
  if (const std::string up = parent_dir(dir); up != dir) {
    if (std::string e = ensure_dir(up); !e.empty()) return e;
  }
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return "cannot create directory '" + dir + "': " + errno_text(errno);
  }
  return {};
}

std::string write_atomically(const std::string& path, std::string_view text) {
  const std::string dir = parent_dir(path);
  if (std::string e = ensure_dir(dir); !e.empty()) return e;
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  // A short name (a long target name must not push it past NAME_MAX); a
  // leftover of a crashed writer is skipped, never reused.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = (dir == "/" ? std::string() : dir) + "/.comfyvn_perf." + std::to_string(::getpid()) +
          "." + std::to_string(counter.fetch_add(1)) + ".tmp";
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return "cannot create a temporary file in '" + dir + "': " + errno_text(errno);
  std::string problem;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      problem = "cannot write '" + tmp + "': " + errno_text(n < 0 ? errno : EIO);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (problem.empty() && existed) (void)::fchmod(fd, st.st_mode & 07777);
  if (problem.empty() && ::fsync(fd) != 0)
    problem = "cannot flush '" + tmp + "': " + errno_text(errno);
  if (::close(fd) != 0 && problem.empty())
    problem = "cannot close '" + tmp + "': " + errno_text(errno);
  if (problem.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    problem = "cannot rename '" + tmp + "' to '" + path + "': " + errno_text(errno);
  }
  if (!problem.empty()) {
    ::unlink(tmp.c_str());
    return problem;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // best effort: makes the rename itself durable
    ::close(dfd);
  }
  return {};
}

}  // namespace comfyvn::perf::os
#endif
