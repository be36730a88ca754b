#include "daemon/serve/status_endpoints.h"

#include <memory>
#include <string>

#include "wire/message_json.h"
#include "wire/prometheus_text.h"

namespace taskpool::daemon {

namespace {

// The page is self-contained and the browser is told to hold it to that:
// nothing is loaded from anywhere, and its script talks only to the
// daemon that served it (for /status.json).
constexpr char kPagePolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace

std::vector<HttpRoute> StatusRoutes(std::function<v1::StatusReply()> status) {
  auto source =
      std::make_shared<const std::function<v1::StatusReply()>>(std::move(status));
  return {
      {"/",
       [] {
         return HttpContent{
             .content_type = "text/html; charset=utf-8",
             .body = std::string(StatusPageHtml()),
             .headers = {{"Content-Security-Policy", kPagePolicy},
                         {"X-Content-Type-Options", "nosniff"}}};
       }},
      {"/status.json",
       [source] {
         return HttpContent{.content_type = "application/json",
                            .body = wire::MessageJson((*source)()),
                            .headers = {{"X-Content-Type-Options", "nosniff"}}};
       }},
      {"/metrics",
       [source] {
         return HttpContent{.content_type = wire::kPrometheusContentType,
                            .body = wire::RenderPrometheusText((*source)()),
                            .headers = {}};
       }},
  };
}

}  // namespace taskpool::daemon
