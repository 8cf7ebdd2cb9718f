// comfyvn_perf — the HTTP status codes the adapter answers with, and how a
// budget outcome maps onto them. The budget part reports BudgetError and
// knows nothing of HTTP; this is the one place that translates.
#pragma once

#include "../budget/types.hpp"

namespace comfyvn::perf::http {

// Values are the numbers on the wire, so the Beast layer converts with a
// cast and the request handler needs no Beast header.
enum class StatusCode : unsigned {
  ok = 200,
  no_content = 204,
  bad_request = 400,
  unauthorized = 401,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  conflict = 409,
  payload_too_large = 413,
  unprocessable_entity = 422,
  too_many_requests = 429,
  internal_server_error = 500,
  service_unavailable = 503,
  http_version_not_supported = 505,
};

constexpr StatusCode status_of(BudgetError e) noexcept {
  switch (e) {
    case BudgetError::none:
      return StatusCode::ok;
    case BudgetError::invalid:
      return StatusCode::unprocessable_entity;
    case BudgetError::not_found:
      return StatusCode::not_found;
    case BudgetError::conflict:
      return StatusCode::conflict;
    case BudgetError::queue_full:
      return StatusCode::too_many_requests;
  }
  return StatusCode::internal_server_error;
}

}  // namespace comfyvn::perf::http
