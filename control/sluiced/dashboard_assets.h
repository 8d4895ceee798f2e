// The dashboard's own files (control/sluiced/dashboard/), compiled in by embed.py.
#pragma once

#include <string_view>

namespace sluice::control {

// "index.html", "login.html", "dashboard.js", "dashboard.css"; empty for any other name.
std::string_view dashboard_asset(std::string_view name);

}  // namespace sluice::control
