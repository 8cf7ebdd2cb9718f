// comfyvn_perf — umbrella header of the HTTP adapter: every /api/perf route
// over Boost.Beast, plus everything <comfyvn_perf/perf.hpp> provides.
//   http/options.hpp  Options and the `limit` bounds
//   http/routes.hpp   the route table
//   http/status.hpp   status codes, BudgetError -> HTTP status
//   http/address.hpp  loopback Host names (the DNS-rebinding guard)
//   http/validate.hpp the query, the JSON body and its typed fields
//   http/handler.hpp  a parsed request -> its response, over injected services
//   http/server.hpp   RequestHandler (Beast messages) and Adapter (sockets, threads)
// docs/http_api.md documents every route, body, status code and option.
#pragma once

#include "perf.hpp"

#include "http/address.hpp"
#include "http/handler.hpp"
#include "http/options.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"
#include "http/status.hpp"
#include "http/validate.hpp"
