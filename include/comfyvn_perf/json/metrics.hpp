// comfyvn_perf — JSON of a host metrics sample: the "metrics" object of the
// budget routes, snapshots and events.
//
// Free functions found by Boost.JSON through tag_invoke, so the sample stays
// plain data: `boost::json::value_from(m)`, or metrics_json(m) for the object.
#pragma once

#include <boost/json.hpp>  // value_from_tag, value, object: the API's types

#include "../metrics/sample.hpp"  // GpuInfo, Metrics

namespace comfyvn::perf {

boost::json::object gpu_json(const GpuInfo& g);

// Absent figures are null, never 0: "no PSI on this kernel" and "no
// pressure" are different answers.
boost::json::object metrics_json(const Metrics& m);

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const GpuInfo& g);

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const Metrics& m);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <optional>  // pressure figures
#include <utility>   // move

namespace comfyvn::perf {

boost::json::object gpu_json(const GpuInfo& g) {
  return boost::json::object{{"id", g.id},
                             {"name", g.name},
                             {"util", g.util},
                             {"mem_used", g.mem_used},
                             {"mem_total", g.mem_total},
                             {"temp_c", g.temp_c}};
}

boost::json::object metrics_json(const Metrics& m) {
  auto opt = [](const std::optional<double>& v) -> boost::json::value {
    if (v) return *v;
    return nullptr;
  };
  boost::json::array gpu_list;
  for (const auto& g : m.gpus) gpu_list.push_back(gpu_json(g));
  boost::json::value pressure = nullptr;
  if (m.cpu_pressure || m.memory_pressure) {
    pressure =
        boost::json::object{{"cpu", opt(m.cpu_pressure)}, {"memory", opt(m.memory_pressure)}};
  }
  boost::json::value first = nullptr;
  if (!m.gpus.empty()) first = gpu_json(m.gpus.front());
  boost::json::value cg = nullptr;
  if (!m.cgroup.empty()) cg = m.cgroup;
  return boost::json::object{{"timestamp", m.timestamp},
                             {"cpu_percent", m.cpu_percent},
                             {"cpu_count", m.cpu_count},
                             {"process_cpu_percent", m.process_cpu_percent},
                             {"mem_used_mb", m.mem_used_mb},
                             {"mem_total_mb", m.mem_total_mb},
                             {"process_rss_mb", m.process_rss_mb},
                             {"process_threads", m.process_threads},
                             {"cgroup", std::move(cg)},
                             {"pressure", std::move(pressure)},
                             {"vram_used_mb", m.vram_used_mb()},
                             {"gpus", std::move(gpu_list)},
                             {"first_gpu", std::move(first)}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const GpuInfo& g) {
  out = gpu_json(g);
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const Metrics& m) {
  out = metrics_json(m);
}

}  // namespace comfyvn::perf
#endif
