// comfyvn_perf — umbrella header of the HTTP adapter: every /api/perf route
// over Boost.Beast, plus everything <comfyvn_perf/perf.hpp> provides.
//   http/options.hpp          Options and the `limit` bounds
//   http/routes.hpp           the route table
//   http/status.hpp           status codes, BudgetError -> HTTP status
//   http/address.hpp          loopback Host names (the DNS-rebinding guard)
//   http/validate.hpp         the query, the JSON body and its typed fields
//   http/services.hpp         Services (injected or process-wide) and a route's context
//   http/reply.hpp            Reply, the JSON envelope and the response size cap
//   http/budget_routes.hpp    the bodies of the /budgets routes
//   http/profiler_routes.hpp  the bodies of the /profiler routes
//   http/handler.hpp          a parsed request -> its response: guards and dispatch
//   http/request_handler.hpp  RequestHandler: Beast messages in and out
//   http/server.hpp           Adapter (its implementation: http/listener.hpp, the
//                             acceptor and threads; http/session.hpp, one connection)
// docs/http_api.md documents every route, body, status code and option.
#pragma once

#include "perf.hpp"

#include "http/address.hpp"
#include "http/budget_routes.hpp"
#include "http/handler.hpp"
#include "http/options.hpp"
#include "http/profiler_routes.hpp"
#include "http/reply.hpp"
#include "http/request_handler.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"
#include "http/services.hpp"
#include "http/status.hpp"
#include "http/validate.hpp"
