// The live dashboard sluiced serves over HTTPS (docs/operations.md#live-dashboard): one page
// with no build step (its script and style compiled in, Chart.js from Debian's libjs-chart.js)
// that polls /api/state once a second. Every route but the sign-in page needs the read role:
// a client certificate the access policy grants it, or a session opened with the dashboard
// token (DashboardAuth); /api/state also takes the token as `Authorization: Bearer`.
#pragma once

#include <memory>
#include <string>

#include "control/protocol/access.h"
#include "control/protocol/http_endpoint.h"
#include "control/protocol/tls_context.h"
#include "control/sluiced/dashboard_auth.h"
#include "control/sluiced/dashboard_feed.h"

namespace YAML {
class Node;
}

namespace sluice::control {

struct DashboardOptions {
    std::string listen;  // ADDR:PORT; empty: no dashboard
    TlsFiles tls;        // cert and key (required), ca (optional: client certificates)
    std::string token_file;
    std::string chart_js = "/usr/share/javascript/chart.js/Chart.min.js";
    int poll_ms = 1000;
};

// The `dashboard:` section: {listen, cert, key, ca, token_file, chart_js, poll_ms}. False
// with "LINE:COL: why".
bool parse_dashboard(const YAML::Node& node, DashboardOptions& out, std::string& error);

class DashboardServer {
  public:
    // Reads the token and Chart.js (tests stop here and call handle()).
    bool configure(const DashboardOptions& opt, const AccessPolicy& access, DashboardFeed& feed,
                   std::string& error);
    // configure(), then the TLS context, then listens. False with `error`.
    bool start(const DashboardOptions& opt, const AccessPolicy& access, DashboardFeed& feed,
               std::string& error);
    void stop() { http_.stop(); }
    uint16_t port() const { return http_.port(); }
    HttpAnswer handle(const HttpRequest& req, const Peer& peer);

  private:
    bool authorized(const HttpRequest& req, const Peer& peer, bool bearer_ok);
    AccessPolicy access_;
    DashboardFeed* feed_ = nullptr;
    DashboardAuth auth_;
    std::string chart_js_;
    HttpEndpoint http_;
};

}  // namespace sluice::control
