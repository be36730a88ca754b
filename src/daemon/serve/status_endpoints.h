// What --http-listen serves: the status page, its data and the metrics,
// all rendered from one StatusReply per request.
//
//   /             the status page (status_page.html, embedded in the binary)
//   /status.json  the StatusReply as JSON, the document `taskpool --json
//                 status` prints (wire/message_json.h)
//   /metrics      the Prometheus text of `taskpool metrics`
//                 (wire/prometheus_text.h)
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "daemon/serve/http_server.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

// The page's HTML: generated at build time from status_page.html.
std::string_view StatusPageHtml();

// The routes above; `status` is called once per request and returns the
// daemon's status of that moment.
std::vector<HttpRoute> StatusRoutes(std::function<v1::StatusReply()> status);

}  // namespace taskpool::daemon
