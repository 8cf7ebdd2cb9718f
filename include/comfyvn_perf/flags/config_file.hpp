// comfyvn_perf — the config file: reading the "features" keys, and the
// settings toggle's rewrite of them. The rules that combine the sources are in
// flags/flags.hpp; docs/configuration.md describes both.
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // int64_t, uint64_t
#include <optional>     // per-source values
#include <string>       // paths, messages
#include <string_view>  // keys
#include <vector>       // problems

#include <boost/json/fwd.hpp>  // value: parsed documents

#include "../os/file.hpp"  // FileRead: read_config's result

namespace comfyvn::perf::detail::flags {

inline constexpr std::string_view kUmbrella = "enable_perf";
inline constexpr std::string_view kLegacyBudgets = "enable_perf_budgets";
inline constexpr std::string_view kLegacyDashboard = "enable_perf_profiler_dashboard";

const char* kind_name(const boost::json::value& v);

// What identifies one version of a file: an editor that replaces the file
// (new inode) or rewrites it within the same mtime tick (new size) is seen.
struct FileStamp {
  int error = 0;  // 0: exists; otherwise the errno of stat
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const;
  bool operator!=(const FileStamp& o) const;
};

FileStamp stamp_of(const std::string& path);

// Config files are read with os::read_regular_file: non-blocking, regular
// files only, so a FIFO, a directory or /dev/zero at the path is refused at
// once with one message instead of hanging or reading forever.
// A path through a regular file (ENOTDIR) counts as missing there; for the
// config file that is a mistake worth reporting (a toggle would otherwise try
// to create the file there), so it fails as it always has.
os::FileRead read_config(const std::string& path);

// Strict JSON; on error the problem names line and column.
bool parse_json(std::string_view text, boost::json::value& out, std::string& problem);

// Indented like the shipped file, so a settings toggle leaves a file a
// person can still read and diff.
void pretty(std::string& out, const boost::json::value& v, std::size_t indent);

std::string pretty(const boost::json::value& v);

// The one problem that is normal (no config file shipped with the program):
// logged at info level, so it is quiet by default, but still listed.
inline constexpr std::string_view kNotFoundNote = "not found; its flags default to off";

bool is_note(const std::string& problem);

// One source's say on each key; nullopt: the source leaves it alone.
struct Layer {
  std::optional<bool> perf, budgets, dashboard;
};

// Reads one file into `layer`, recording its stamp first (a change during
// the read is seen next time). A missing file says nothing (the config
// file's absence is still reported); false means the file exists but cannot
// be trusted, and then every file flag is off.
bool read_layer(const std::string& path, bool report_missing, Layer& layer, FileStamp& stamp,
                std::vector<std::string>& problems);

// The settings toggle: sets the umbrella and both legacy keys to `on` in
// `path`, keeping every other key. Returns "" on success, else why nothing
// was written.
std::string write_switches(const std::string& path, bool on);

}  // namespace comfyvn::perf::detail::flags

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <sys/stat.h>  // stat: what identifies one version of a file, ENOTDIR paths

#include <cerrno>    // errno
#include <charconv>  // to_chars: doubles written back as they were read
#include <cstdlib>   // realpath, free

#include <boost/json.hpp>  // stream_parser, serialize, value, object

namespace comfyvn::perf::detail::flags {

const char* kind_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
    default:
      return "number";
  }
}

bool FileStamp::operator==(const FileStamp& o) const {
  return error == o.error && dev == o.dev && ino == o.ino && size == o.size &&
         mtime_ns == o.mtime_ns;
}

bool FileStamp::operator!=(const FileStamp& o) const {
  return !(*this == o);
}

FileStamp stamp_of(const std::string& path) {
  FileStamp s;
  if (path.empty()) return s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    s.error = errno;
    return s;
  }
  s.dev = static_cast<std::uint64_t>(st.st_dev);
  s.ino = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

os::FileRead read_config(const std::string& path) {
  os::FileRead r = os::read_regular_file(path);
  if (r.status == os::FileRead::missing) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOTDIR) {
      r.status = os::FileRead::failed;
      r.problem = "cannot open: " + os::errno_text(ENOTDIR);
    }
  }
  return r;
}

bool parse_json(std::string_view text, boost::json::value& out, std::string& problem) {
  boost::json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (!ec) {
    out = p.release();
    return true;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    problem = "empty file, expected a JSON object";
    return false;
  }
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < used && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  problem = "malformed JSON at line " + std::to_string(line) + ", column " +
            std::to_string(column) + " (" + ec.message() + ")";
  return false;
}

void pretty(std::string& out, const boost::json::value& v, std::size_t indent) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ",\n";
        first = false;
        out.append(indent + 2, ' ');
        out += boost::json::serialize(boost::json::string_view(kv.key()));
        out += ": ";
        pretty(out, kv.value(), indent + 2);
      }
      out += '\n';
      out.append(indent, ' ');
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i != 0) out += ",\n";
        out.append(indent + 2, ' ');
        pretty(out, a[i], indent + 2);
      }
      out += '\n';
      out.append(indent, ' ');
      out += ']';
      return;
    }
    case boost::json::kind::double_: {
      // Shortest text that reads back as the same double, and still a
      // double ("1.0", not Boost's "1E0" or an integer "1").
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
      std::string s(buf, r.ptr);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      out += s;
      return;
    }
    default:
      out += boost::json::serialize(v);
      return;
  }
}

std::string pretty(const boost::json::value& v) {
  std::string out;
  pretty(out, v, 0);
  out += '\n';
  return out;
}

bool is_note(const std::string& problem) {
  return problem.size() >= kNotFoundNote.size() &&
         problem.compare(problem.size() - kNotFoundNote.size(), kNotFoundNote.size(),
                         kNotFoundNote.data(), kNotFoundNote.size()) == 0;
}

bool read_layer(const std::string& path, bool report_missing, Layer& layer, FileStamp& stamp,
                std::vector<std::string>& problems) {
  stamp = stamp_of(path);
  if (path.empty()) return true;
  const std::string name = "config file '" + path + "': ";
  const std::string off = "; all feature flags are off until this is fixed";
  const os::FileRead r = read_config(path);
  if (r.status == os::FileRead::missing) {
    if (report_missing) problems.push_back(name + std::string(kNotFoundNote));
    return true;
  }
  if (r.status == os::FileRead::failed) {
    problems.push_back(name + r.problem + off);
    return false;
  }
  boost::json::value root;
  std::string problem;
  if (!parse_json(r.text, root, problem)) {
    problems.push_back(name + problem + off);
    return false;
  }
  if (!root.is_object()) {
    problems.push_back(name + "the top level must be a JSON object, found " + kind_name(root) +
                       off);
    return false;
  }
  const auto* features = root.get_object().if_contains("features");
  if (features == nullptr) return true;
  if (!features->is_object()) {
    problems.push_back(name + "\"features\" must be an object, found " + kind_name(*features) +
                       "; ignored");
    return true;
  }
  auto take = [&](std::string_view key, std::optional<bool>& slot) {
    const auto* v = features->get_object().if_contains(key);
    if (v == nullptr) return;
    if (v->is_bool()) {
      slot = v->get_bool();
      return;
    }
    std::string found = kind_name(*v);
    if (!v->is_null()) found += " " + boost::json::serialize(*v);
    problems.push_back(name + "features." + std::string(key) + " must be true or false, found " +
                       found + "; ignored");
  };
  take(kUmbrella, layer.perf);
  take(kLegacyBudgets, layer.budgets);
  take(kLegacyDashboard, layer.dashboard);
  return true;
}

std::string write_switches(const std::string& path, bool on) {
  std::string target = path;
  // Editing through a symlink updates the file it points to.
  if (char* real = ::realpath(target.c_str(), nullptr)) {
    target = real;
    std::free(real);
  }
  const std::string refuse = "cannot update config file '" + target + "': ";
  const std::string kept = "; the file was left unchanged";
  const os::FileRead r = read_config(target);
  if (r.status == os::FileRead::failed) return refuse + r.problem + kept;
  boost::json::value root = boost::json::object();
  if (r.status == os::FileRead::ok) {
    std::string problem;
    if (!parse_json(r.text, root, problem)) return refuse + problem + kept;
    if (!root.is_object()) {
      return refuse + "the top level must be a JSON object, found " + kind_name(root) + kept;
    }
  }
  boost::json::value& features = root.as_object()["features"];
  if (!features.is_object()) features = boost::json::object();
  auto& f = features.as_object();
  f[kUmbrella] = on;
  f[kLegacyBudgets] = on;
  f[kLegacyDashboard] = on;
  const std::string problem = os::write_atomically(target, pretty(root));
  if (!problem.empty()) return refuse + problem + kept;
  return {};
}

}  // namespace comfyvn::perf::detail::flags
#endif
