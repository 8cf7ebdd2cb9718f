// perf_diff BASE CURRENT [--threshold PCT] [--metric p95_ms|avg_ms|max_ms|total_ms]
//           [--min-count N] [--json]
//
// The CI regression gate (docs/ci.md). BASE and CURRENT are dashboard JSON
// files: the body of GET /api/perf/profiler/dashboard ({"ok", "feature_flag",
// "dashboard": {...}}) or the bare dashboard object (write_dashboard,
// render_loop --snapshot). Sites, keyed by (name, category), are read from
// `aggregates` (from `top_time` when a file has no `aggregates`); the frame
// statistics `frames` count as the site ("(frame)", "frame") when
// frames.count > 0. Prints a table of the sites present in both files, the
// largest slowdown first, then the sites added and removed; --json prints one
// JSON object instead.
//
// Exit status: 0 when no site with at least --min-count spans (default 10) in
// both files got slower by more than --threshold percent (default 10) on
// --metric (default p95_ms); 1 when one did; 2 on bad input (a file that
// cannot be read, is empty, larger than 256 MiB, not JSON, truncated, nested
// deeper than 128 levels, or not shaped like a dashboard) or a bad option,
// with one line on stderr naming the file or the option.
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/json/fields.hpp>  // json_number

#include <boost/json.hpp>
#include <fmt/core.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace json = boost::json;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
// A dashboard is a few MiB at most (every site three times, the newest marks
// with their metadata); the caps only keep a wrong file from taking the machine.
constexpr std::size_t kMaxFileBytes = 256 * kMiB;
// Memory for the parsed JSON values of one file (the file's own bytes apart).
constexpr std::size_t kMaxJsonBytes = 1024 * kMiB;
constexpr std::size_t kMaxDepth = 128;
// Changes within this many percentage points of the threshold are not past it
// (so that 8 -> 8.8 is +10 %, not +10.000000000000009 %).
constexpr double kEpsilonPct = 1e-9;

constexpr const char* kMetrics[] = {"p95_ms", "avg_ms", "max_ms", "total_ms"};

constexpr const char* kUsage =
    R"USAGE(usage: perf_diff BASE CURRENT [--threshold PCT] [--metric p95_ms|avg_ms|max_ms|total_ms]
                 [--min-count N] [--json]

Compares two comfyvn_perf dashboard JSON files (the body of
GET /api/perf/profiler/dashboard, or the bare dashboard object written by
write_dashboard / render_loop --snapshot) site by site, keyed by (name,
category). The frame statistics count as the site "(frame)" (category "frame").

  --threshold PCT  a site slower by more than PCT percent is a regression
                   (a number >= 0; default 10)
  --metric M       the value compared: p95_ms (default), avg_ms, max_ms or
                   total_ms
  --min-count N    only sites with at least N spans in both files count for
                   the verdict (an integer >= 0; default 10)
  --json           print one JSON object instead of the table
  --help           print this text and exit 0

Exit status: 0 no regression, 1 regression, 2 bad input or bad option (one
line on stderr naming the file or the option).
)USAGE";

// One line of output never holds a control character from a file or a name.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

// Bad input or a bad option: exit 2 with `message` as the one line on stderr.
struct Failure {
  std::string message;
};

[[noreturn]] void fail(std::string message) {
  throw Failure{std::move(message)};
}

[[noreturn]] void fail_file(const std::string& path, const std::string& problem) {
  fail(fmt::format("{}: {}", printable(path), problem));
}

// ---- options ----

struct Options {
  std::string base;
  std::string current;
  double threshold = 10.0;
  std::string metric = "p95_ms";
  std::uint64_t min_count = 10;
  bool json = false;
};

double parse_threshold(const std::string& v) {
  const std::string why = fmt::format(
      "--threshold: expected a percentage, a number >= 0, got '{}'", printable(v));
  if (v.empty() || v.find_first_not_of("0123456789.eE+-") != std::string::npos) fail(why);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || !std::isfinite(d) || d < 0) fail(why);
  return d;
}

std::uint64_t parse_min_count(const std::string& v) {
  const std::string why =
      fmt::format("--min-count: expected a whole number >= 0, got '{}'", printable(v));
  if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string::npos) {
    fail(why);
  }
  return std::strtoull(v.c_str(), nullptr, 10);
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> files;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      files.push_back(std::move(a));
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kUsage);
      return std::nullopt;
    }
    if (a == "--json") {
      o.json = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (name != "--threshold" && name != "--metric" && name != "--min-count") {
      fail(fmt::format("{}: unknown option (see --help)", printable(name)));
    }
    if (!value) {
      if (i + 1 >= argc) fail(fmt::format("{}: needs a value (see --help)", name));
      value = argv[++i];
    }
    if (name == "--threshold") {
      o.threshold = parse_threshold(*value);
    } else if (name == "--min-count") {
      o.min_count = parse_min_count(*value);
    } else {
      if (std::find(std::begin(kMetrics), std::end(kMetrics), *value) == std::end(kMetrics)) {
        fail(fmt::format("--metric: expected p95_ms, avg_ms, max_ms or total_ms, got '{}'",
                         printable(*value)));
      }
      o.metric = *value;
    }
  }
  if (files.size() != 2) {
    fail(fmt::format("expected two files, BASE and CURRENT, got {} (see --help)", files.size()));
  }
  o.base = files[0];
  o.current = files[1];
  return o;
}

// ---- reading ----

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The whole file, at most kMaxFileBytes. Pipes work too (`<(curl ...)`);
// a FIFO without a writer reads as empty instead of blocking in open().
std::string read_file(const std::string& path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) fail_file(path, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_file(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) fail_file(path, "is a directory, not a dashboard JSON file");
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes) {
    fail_file(path, fmt::format("is larger than {} MiB ({} bytes); not a dashboard",
                                kMaxFileBytes / kMiB, st.st_size));
  }
  if (const int fl = ::fcntl(fd.get(), F_GETFL); fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);

  std::string data;
  if (S_ISREG(st.st_mode)) data.reserve(static_cast<std::size_t>(st.st_size));
  constexpr std::size_t kChunk = kMiB;
  for (;;) {
    const std::size_t old = data.size();
    if (old > kMaxFileBytes) {
      fail_file(path, fmt::format("is larger than {} MiB; not a dashboard", kMaxFileBytes / kMiB));
    }
    data.resize(old + kChunk);
    const ssize_t n = ::read(fd.get(), data.data() + old, kChunk);
    if (n < 0) {
      if (errno == EINTR) {
        data.resize(old);
        continue;
      }
      fail_file(path, fmt::format("cannot read: {}", std::strerror(errno)));
    }
    data.resize(old + static_cast<std::size_t>(n));
    if (n == 0) break;
  }
  if (data.find_first_not_of(" \t\r\n") == std::string::npos) {
    fail_file(path, data.empty() ? "is empty" : "holds only whitespace");
  }
  return data;
}

// Counts the bytes of parsed values and refuses past a cap, so that a huge
// array of tiny values ends in a clean exit 2, not in the OOM killer.
class CappedResource final : public json::memory_resource {
 public:
  explicit CappedResource(std::size_t cap) : cap_(cap) {}

 private:
  // Plain operator new for every alignment it provides: Boost.JSON may free
  // a block with another (still small) alignment than it asked for.
  static constexpr std::size_t kNewAlign = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

  void* do_allocate(std::size_t n, std::size_t align) override {
    if (n > cap_ - used_) throw std::bad_alloc();
    void* p = align <= kNewAlign ? ::operator new(n) : ::operator new(n, std::align_val_t(align));
    used_ += n;
    return p;
  }
  void do_deallocate(void* p, std::size_t n, std::size_t align) override {
    if (align <= kNewAlign) {
      ::operator delete(p);
    } else {
      ::operator delete(p, std::align_val_t(align));
    }
    used_ -= std::min(n, used_);
  }
  bool do_is_equal(const json::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::size_t cap_;
  std::size_t used_ = 0;
};

json::value parse_json(const std::string& path, const std::string& text, CappedResource& mem) {
  json::parse_options opt;
  opt.max_depth = kMaxDepth;
  const json::storage_ptr sp(&mem);
  try {
    json::stream_parser p(sp, opt);
    p.reset(sp);
    boost::system::error_code ec;
    const std::size_t n = p.write_some(text.data(), text.size(), ec);
    if (ec == json::error::too_deep) {
      fail_file(path, fmt::format("malformed JSON: nests deeper than {} levels (at byte {})",
                                  kMaxDepth, n));
    }
    if (ec) fail_file(path, fmt::format("malformed JSON at byte {}: {}", n, ec.message()));
    if (n < text.size()) {
      if (text.find_first_not_of(" \t\r\n", n) != std::string::npos) {
        fail_file(path, fmt::format("malformed JSON: more data after the document at byte {}", n));
      }
    }
    p.finish(ec);
    if (ec == json::error::incomplete) {
      fail_file(path, fmt::format("truncated JSON: the document is not complete at the end of "
                                  "the file ({} bytes)",
                                  text.size()));
    }
    if (ec) fail_file(path, fmt::format("malformed JSON: {}", ec.message()));
    return p.release();
  } catch (const std::bad_alloc&) {
    fail_file(path, fmt::format("too large: its JSON needs more than {} MiB of memory",
                                kMaxJsonBytes / kMiB));
  }
}

// ---- the dashboard's shape ----

struct Site {
  std::string name;
  std::string category;
  double count = 0;
  double value = 0;
};

struct Dashboard {
  std::vector<Site> sites;
  std::string source;  // "aggregates" or "top_time"
  bool route_body = false;
};

const char* kind_name(json::kind k) {
  switch (k) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

class ShapeReader {
 public:
  ShapeReader(const std::string& path, const std::string& metric) : path_(path), metric_(metric) {}

  [[noreturn]] void wrong(const std::string& problem) const {
    fail_file(path_, "wrong shape: " + problem);
  }

  // A number >= 0, finite (1e999 parses as infinity); `whole` for counts.
  double number(const json::object& o, std::string_view key, const std::string& where,
                bool whole = false) const {
    const auto it = o.find(key);
    const std::string at = printable(where + "." + std::string(key));
    if (it == o.end()) wrong(at + " is missing");
    const json::value& v = it->value();
    const std::optional<double> n = comfyvn::perf::detail::json_number(v);
    if (!n && !v.is_number()) {
      wrong(fmt::format("{} is {}, expected a number", at, kind_name(v.kind())));
    }
    if (!n) wrong(at + " is not a finite number");
    const double d = *n;
    if (d < 0) wrong(fmt::format("{} is negative ({})", at, d));
    if (whole && std::floor(d) != d) wrong(fmt::format("{} is not a whole number ({})", at, d));
    return d;
  }

  std::string string(const json::object& o, std::string_view key, const std::string& where) const {
    const auto it = o.find(key);
    const std::string at = printable(where + "." + std::string(key));
    if (it == o.end()) wrong(at + " is missing");
    if (!it->value().is_string()) {
      wrong(fmt::format("{} is {}, expected a string", at, kind_name(it->value().kind())));
    }
    return std::string(it->value().get_string());
  }

  Dashboard read(const json::value& root) const {
    if (!root.is_object()) {
      wrong(fmt::format("the top level is {}, expected a dashboard object", kind_name(root.kind())));
    }
    Dashboard d;
    const json::object* dash = &root.get_object();
    std::string prefix;
    if (const auto it = dash->find("dashboard"); it != dash->end()) {
      if (!it->value().is_object()) {
        wrong(fmt::format("dashboard is {}, expected an object", kind_name(it->value().kind())));
      }
      dash = &it->value().get_object();
      prefix = "dashboard.";
      d.route_body = true;
    }
    const char* source = dash->contains("aggregates") ? "aggregates" : "top_time";
    const auto rows = dash->find(source);
    if (rows == dash->end()) {
      wrong(d.route_body ? "dashboard has no aggregates or top_time array"
                         : "no aggregates or top_time array and no dashboard key: neither a "
                           "dashboard nor the dashboard route's body");
    }
    if (!rows->value().is_array()) {
      wrong(fmt::format("{}{} is {}, expected an array", prefix, source,
                        kind_name(rows->value().kind())));
    }
    d.source = source;
    std::map<std::pair<std::string, std::string>, std::size_t> seen;
    const json::array& arr = rows->value().get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string where = fmt::format("{}{}[{}]", prefix, source, i);
      if (!arr[i].is_object()) {
        wrong(fmt::format("{} is {}, expected an object", where, kind_name(arr[i].kind())));
      }
      const json::object& o = arr[i].get_object();
      Site s;
      s.name = string(o, "name", where);
      s.category = string(o, "category", where);
      s.count = number(o, "count", where, true);
      s.value = number(o, metric_, where);
      if (!seen.emplace(std::make_pair(s.name, s.category), i).second) {
        wrong(fmt::format("{} repeats the site ({}, {})", where, printable(s.name),
                          printable(s.category)));
      }
      d.sites.push_back(std::move(s));
    }
    // The frame statistics, as the built-in site "(frame)", unless a row
    // already stands for it.
    if (const auto it = dash->find("frames"); it != dash->end()) {
      const std::string where = prefix + "frames";
      if (!it->value().is_object()) {
        wrong(fmt::format("{} is {}, expected an object", where, kind_name(it->value().kind())));
      }
      const json::object& f = it->value().get_object();
      Site s{"(frame)", "frame", number(f, "count", where, true), 0};
      if (s.count > 0 && seen.count({s.name, s.category}) == 0) {
        // frames has no total_ms: it is avg_ms x count.
        s.value = metric_ == "total_ms" ? number(f, "avg_ms", where) * s.count
                                        : number(f, metric_, where);
        d.sites.push_back(std::move(s));
      }
    }
    return d;
  }

 private:
  const std::string& path_;
  const std::string& metric_;
};

Dashboard load(const std::string& path, const std::string& metric) {
  CappedResource mem(kMaxJsonBytes);
  Dashboard d;
  {
    const json::value root = parse_json(path, read_file(path), mem);
    d = ShapeReader(path, metric).read(root);
  }  // the values go back to `mem` before it goes
  return d;
}

// ---- the comparison ----

struct Row {
  const Site* base = nullptr;
  const Site* current = nullptr;
  bool new_time = false;  // base 0, current > 0
  double change_pct = 0;  // valid unless new_time
  bool counted = false;   // enough spans in both files
  bool regression = false;

  double sort_key() const { return new_time ? HUGE_VAL : change_pct; }
};

struct Result {
  std::vector<Row> common;
  std::vector<const Site*> added;
  std::vector<const Site*> removed;
  std::size_t counted = 0;
  std::size_t regressions = 0;
};

using Key = std::pair<std::string, std::string>;

bool by_name(const Site* a, const Site* b) {
  return std::tie(a->name, a->category) < std::tie(b->name, b->category);
}

Result compare(const Dashboard& base, const Dashboard& cur, const Options& o) {
  std::map<Key, const Site*> in_base;
  for (const Site& s : base.sites) in_base[{s.name, s.category}] = &s;
  std::map<Key, const Site*> in_cur;
  for (const Site& s : cur.sites) in_cur[{s.name, s.category}] = &s;

  Result r;
  for (const auto& [key, b] : in_base) {
    const auto it = in_cur.find(key);
    if (it == in_cur.end()) {
      r.removed.push_back(b);
      continue;
    }
    Row row;
    row.base = b;
    row.current = it->second;
    if (b->value > 0) {
      row.change_pct = (row.current->value - b->value) * 100.0 / b->value;
    } else {
      row.new_time = row.current->value > 0;
    }
    const auto min = static_cast<double>(o.min_count);
    row.counted = b->count >= min && row.current->count >= min;
    row.regression =
        row.counted && (row.new_time || row.change_pct > o.threshold + kEpsilonPct);
    r.counted += row.counted ? 1 : 0;
    r.regressions += row.regression ? 1 : 0;
    r.common.push_back(row);
  }
  for (const auto& [key, c] : in_cur) {
    if (in_base.count(key) == 0) r.added.push_back(c);
  }
  std::stable_sort(r.common.begin(), r.common.end(), [](const Row& x, const Row& y) {
    if (x.sort_key() != y.sort_key()) return x.sort_key() > y.sort_key();
    return by_name(x.base, y.base);
  });
  std::sort(r.added.begin(), r.added.end(), by_name);
  std::sort(r.removed.begin(), r.removed.end(), by_name);
  return r;
}

// ---- output ----

std::string ms(double v) {
  return fmt::format("{:.3f}", v);
}

std::string change_text(const Row& row) {
  if (row.new_time) return "new time";
  return fmt::format("{:+.1f}%", row.change_pct);
}

std::string count_text(double c) {
  return fmt::format("{:.0f}", c);
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

void print_table(const Options& o, const Dashboard& base, const Dashboard& cur, const Result& r) {
  fmt::print("perf_diff: {} in ms, threshold +{}%, min count {}\n", o.metric, o.threshold,
             o.min_count);
  fmt::print("  base:    {} ({}, from {})\n", printable(o.base),
             plural(base.sites.size(), "site", "sites"), base.source);
  fmt::print("  current: {} ({}, from {})\n\n", printable(o.current),
             plural(cur.sites.size(), "site", "sites"), cur.source);

  if (r.common.empty()) {
    fmt::print("no site is present in both files\n");
  } else {
    const std::vector<std::string> header = {"site", "category", "base", "current", "change %",
                                             "counts", ""};
    std::vector<std::vector<std::string>> cells;
    for (const Row& row : r.common) {
      cells.push_back({printable(row.base->name), printable(row.base->category),
                       ms(row.base->value), ms(row.current->value), change_text(row),
                       count_text(row.base->count) + " / " + count_text(row.current->count),
                       row.regression ? "REGRESSION"
                       : row.counted  ? ""
                                      : "(below --min-count)"});
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
      width[c] = header[c].size();
      for (const auto& line : cells) width[c] = std::max(width[c], line[c].size());
    }
    const auto print_line = [&](const std::vector<std::string>& line) {
      std::string out = fmt::format("{:<{}}  {:<{}}  {:>{}}  {:>{}}  {:>{}}  {:>{}}", line[0],
                                    width[0], line[1], width[1], line[2], width[2], line[3],
                                    width[3], line[4], width[4], line[5], width[5]);
      if (!line[6].empty()) out += "  " + line[6];
      fmt::print("{}\n", out);
    };
    print_line(header);
    for (const auto& line : cells) print_line(line);
  }

  fmt::print("\nadded (only in current): {}\n", r.added.size());
  for (const Site* s : r.added) {
    fmt::print("  {}  {}  {} ms  (count {})\n", printable(s->name), printable(s->category),
               ms(s->value), count_text(s->count));
  }
  fmt::print("removed (only in base): {}\n", r.removed.size());
  for (const Site* s : r.removed) {
    fmt::print("  {}  {}  {} ms  (count {})\n", printable(s->name), printable(s->category),
               ms(s->value), count_text(s->count));
  }

  fmt::print("\n");
  if (r.counted == 0) {
    fmt::print("note: no site has at least {} spans in both files; nothing was gated\n",
               o.min_count);
  }
  if (r.regressions > 0) {
    fmt::print("REGRESSION: {} slower by more than {}% on {} (of {} gated)\n",
               plural(r.regressions, "site", "sites"), o.threshold, o.metric, r.counted);
  } else {
    fmt::print("ok: no site slower by more than {}% on {} ({} gated)\n", o.threshold, o.metric,
               plural(r.counted, "site", "sites"));
  }
}

// Counts print as integers while a double holds them exactly.
json::value count_json(double c) {
  if (c <= 9007199254740992.0) return json::value(static_cast<std::uint64_t>(c));
  return json::value(c);
}

void print_json(const Options& o, const Dashboard& base, const Dashboard& cur, const Result& r) {
  json::array sites;
  for (const Row& row : r.common) {
    sites.push_back(json::object{
        {"name", row.base->name},
        {"category", row.base->category},
        {"base", row.base->value},
        {"current", row.current->value},
        {"change_pct", row.new_time ? json::value(nullptr) : json::value(row.change_pct)},
        {"base_count", count_json(row.base->count)},
        {"current_count", count_json(row.current->count)},
        {"counted", row.counted},
        {"regression", row.regression},
    });
  }
  json::array added;
  for (const Site* s : r.added) {
    added.push_back(json::object{{"name", s->name},
                                 {"category", s->category},
                                 {"current", s->value},
                                 {"current_count", count_json(s->count)}});
  }
  json::array removed;
  for (const Site* s : r.removed) {
    removed.push_back(json::object{{"name", s->name},
                                   {"category", s->category},
                                   {"base", s->value},
                                   {"base_count", count_json(s->count)}});
  }
  const json::object out{
      {"metric", o.metric},
      {"threshold_pct", std::floor(o.threshold) == o.threshold && o.threshold <= 1e15
                            ? json::value(static_cast<std::uint64_t>(o.threshold))
                            : json::value(o.threshold)},
      {"min_count", o.min_count},
      {"base", json::object{{"file", o.base},
                            {"source", base.source},
                            {"sites", base.sites.size()}}},
      {"current", json::object{{"file", o.current},
                               {"source", cur.source},
                               {"sites", cur.sites.size()}}},
      {"regression", r.regressions > 0},
      {"regressions", r.regressions},
      {"gated", r.counted},
      {"sites", std::move(sites)},
      {"added", std::move(added)},
      {"removed", std::move(removed)},
  };
  fmt::print("{}\n", json::serialize(out));
}

int run(int argc, char** argv) {
  const std::optional<Options> opt = parse_args(argc, argv);
  if (!opt) return 0;
  const Options& o = *opt;
  const Dashboard base = load(o.base, o.metric);
  const Dashboard cur = load(o.current, o.metric);
  const Result r = compare(base, cur, o);
  if (o.json) {
    print_json(o, base, cur, r);
  } else {
    print_table(o, base, cur, r);
  }
  return r.regressions > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    fmt::print(stderr, "perf_diff: {}\n", f.message);
  } catch (const std::exception& e) {
    fmt::print(stderr, "perf_diff: {}\n", printable(e.what()));
  }
  return 2;
}
