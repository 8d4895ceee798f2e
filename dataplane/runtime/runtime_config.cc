#include "runtime/runtime_config.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <yaml-cpp/yaml.h>

#include "reassembly/segment_pool.h"
#include "rules/bundle.h"
#include "rules/shipped_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include "common/digest.h"
#include "common/yaml_fields.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace sluice {
namespace {

using namespace yaml_fields;

// What a capped or reclaimed flow gets (cap_action, reclaim_action): alert or drop.
Verdict alert_or_drop(const std::string& path, const YAML::Node& n, const char* key) {
    const auto vd = verdict_from_name(scalar<std::string>(path, n, "an action"));
    if (!vd || (*vd != Verdict::Alert && *vd != Verdict::Drop))
        fail(path, n, std::string(key) + " must be alert or drop");
    return *vd;
}

Duration seconds(const std::string& path, const YAML::Node& n) {
    const auto v = scalar<double>(path, n, "a number of seconds");
    if (v <= 0 || v > 86400 * 30) fail(path, n, "timeout must be in (0, 2592000] seconds");
    return Duration{static_cast<uint64_t>(v * 1e9)};
}

StaticFilter parse_filter(const std::string& path, const YAML::Node& n) {
    StaticFilter f;
    bool have_action = false;
    for_keys(path, n, "filters[]",
             {
                 {"name",
                  [&](const YAML::Node& v) { f.name = scalar<std::string>(path, v, "a string"); }},
                 {"action",
                  [&](const YAML::Node& v) {
                      const auto a = scalar<std::string>(path, v, "an action");
                      have_action = true;
                      if (a == "allow") {
                          f.allow = true;
                          return;
                      }
                      auto verdict = verdict_from_name(a);
                      if (!verdict)
                          fail(path, v,
                               "unknown action '" + a +
                                   "' (allow, pass, alert, tag, rate-limit, drop, reject, block)");
                      f.verdict = *verdict;
                  }},
                 {"proto",
                  [&](const YAML::Node& v) {
                      const auto p = scalar<std::string>(path, v, "tcp, udp or icmp");
                      if (p == "tcp")
                          f.proto = 6;
                      else if (p == "udp")
                          f.proto = 17;
                      else if (p == "icmp")
                          f.proto = 1;
                      else
                          fail(path, v, "proto must be tcp, udp or icmp");
                  }},
                 {"client",
                  [&](const YAML::Node& v) {
                      f.client = IpPrefix::parse(scalar<std::string>(path, v, "an IP prefix"));
                      if (!f.client) fail(path, v, "not an IP address or prefix");
                  }},
                 {"server",
                  [&](const YAML::Node& v) {
                      f.server = IpPrefix::parse(scalar<std::string>(path, v, "an IP prefix"));
                      if (!f.server) fail(path, v, "not an IP address or prefix");
                  }},
                 {"client_port",
                  [&](const YAML::Node& v) {
                      f.client_port = static_cast<uint16_t>(uint_in(path, v, 1, 65535));
                  }},
                 {"server_port",
                  [&](const YAML::Node& v) {
                      f.server_port = static_cast<uint16_t>(uint_in(path, v, 1, 65535));
                  }},
                 {"after_bytes",
                  [&](const YAML::Node& v) {
                      f.after_bytes = scalar<unsigned long long>(path, v, "a byte count");
                  }},
             });
    if (!have_action) fail(path, n, "filter needs an 'action'");
    return f;
}

}  // namespace

std::string load_config_file(const std::string& path, RuntimeConfig& cfg) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        return path + ": cannot read file";
    } catch (const YAML::ParserException& e) {
        return path + ":" + std::to_string(e.mark.line + 1) + ":" +
               std::to_string(e.mark.column + 1) + ": " + e.msg;
    }
    if (root.IsNull()) return "";
    try {
        EngineConfig& e = cfg.engine;
        std::vector<StaticFilter> filters;
        for_keys(
            path, root, "the top level",
            {
                {"mode",
                 [&](const YAML::Node& v) {
                     const auto m = scalar<std::string>(path, v, "inline or monitor");
                     if (m == "inline")
                         cfg.mode = RunMode::Inline;
                     else if (m == "monitor")
                         cfg.mode = RunMode::Monitor;
                     else
                         fail(path, v,
                              "mode must be 'inline' or 'monitor' (offline mode is --pcap)");
                 }},
                {"topology",
                 [&](const YAML::Node& v) {
                     const auto t = scalar<std::string>(path, v, "distributor or rss");
                     if (t == "distributor")
                         cfg.topology = Topology::Distributor;
                     else if (t == "rss")
                         cfg.topology = Topology::Rss;
                     else
                         fail(path, v, "topology must be 'distributor' or 'rss'");
                 }},
                {"ports",
                 [&](const YAML::Node& v) {
                     if (!v.IsSequence()) fail(path, v, "'ports' must be a list");
                     for (const auto& p : v) {
                         PortSpec spec;
                         for_keys(path, p, "ports[]",
                                  {
                                      {"name",
                                       [&](const YAML::Node& x) {
                                           spec.name = scalar<std::string>(path, x, "a name");
                                       }},
                                      {"device",
                                       [&](const YAML::Node& x) {
                                           spec.device = scalar<std::string>(path, x, "a device");
                                       }},
                                  });
                         if (spec.name.empty() || spec.device.empty())
                             fail(path, p, "a port needs 'name' and 'device'");
                         cfg.ports.push_back(spec);
                     }
                 }},
                {"inline_pairs",
                 [&](const YAML::Node& v) {
                     if (!v.IsSequence()) fail(path, v, "'inline_pairs' must be a list of [A, B]");
                     for (const auto& p : v) {
                         if (!p.IsSequence() || p.size() != 2)
                             fail(path, p, "expected a pair [A, B]");
                         cfg.pairs.emplace_back(scalar<std::string>(path, p[0], "a port name"),
                                                scalar<std::string>(path, p[1], "a port name"));
                     }
                 }},
                {"monitor_ports",
                 [&](const YAML::Node& v) {
                     if (!v.IsSequence()) fail(path, v, "'monitor_ports' must be a list");
                     for (const auto& p : v)
                         cfg.monitor.push_back(scalar<std::string>(path, p, "a port name"));
                 }},
                {"workers", [&](const YAML::Node& v) { cfg.workers = uint_in(path, v, 1, 64); }},
                {"lcores",
                 [&](const YAML::Node& v) {
                     cfg.lcores = scalar<std::string>(path, v, "an EAL --lcores map");
                 }},
                {"eal",
                 [&](const YAML::Node& v) {
                     if (!v.IsSequence()) fail(path, v, "'eal' must be a list of arguments");
                     for (const auto& a : v)
                         cfg.eal_args.push_back(scalar<std::string>(path, a, "a string"));
                 }},
                {"mempool",
                 [&](const YAML::Node& v) {
                     for_keys(path, v, "mempool",
                              {
                                  {"mbufs",
                                   [&](const YAML::Node& x) {
                                       cfg.mbufs = uint_in(path, x, 1023, 1u << 24);
                                   }},
                                  {"cache",
                                   [&](const YAML::Node& x) {
                                       cfg.mbuf_cache = uint_in(path, x, 0, 512);
                                   }},
                                  {"data_room",
                                   [&](const YAML::Node& x) {
                                       cfg.mbuf_data_room = uint_in(path, x, 256, 65535 - 128);
                                   }},
                              });
                 }},
                {"io",
                 [&](const YAML::Node& v) {
                     for_keys(
                         path, v, "io",
                         {
                             {"burst",
                              [&](const YAML::Node& x) { cfg.burst = uint_in(path, x, 1, 256); }},
                             {"ring_size",
                              [&](const YAML::Node& x) {
                                  cfg.ring_size = uint_in(path, x, 64, 1u << 20);
                              }},
                             {"rx_descriptors",
                              [&](const YAML::Node& x) {
                                  cfg.rx_desc = uint_in(path, x, 64, 32768);
                              }},
                             {"tx_descriptors",
                              [&](const YAML::Node& x) {
                                  cfg.tx_desc = uint_in(path, x, 64, 32768);
                              }},
                             {"idle_backoff_us",
                              [&](const YAML::Node& x) {
                                  cfg.idle_backoff_us = uint_in(path, x, 0, 100000);
                              }},
                             {"idle_polls",
                              [&](const YAML::Node& x) {
                                  cfg.idle_polls = uint_in(path, x, 1, 1u << 20);
                              }},
                         });
                 }},
                {"flow",
                 [&](const YAML::Node& v) {
                     for_keys(path, v, "flow",
                              {
                                  {"capacity",
                                   [&](const YAML::Node& x) {
                                       e.flow_capacity = uint_in(path, x, 16, 1u << 26);
                                   }},
                                  {"hash_key",
                                   [&](const YAML::Node& x) {
                                       const auto k = FlowHashKey::from_hex(
                                           scalar<std::string>(path, x, "flow.hash_key"));
                                       if (!k) fail(path, x, "hash_key must be 32 hex digits");
                                       e.flow_hash_key = *k;
                                       cfg.flow_hash_key_set = true;
                                   }},
                                  {"timeouts",
                                   [&](const YAML::Node& x) {
                                       for_keys(path, x, "flow.timeouts",
                                                {
                                                    {"embryonic",
                                                     [&](const YAML::Node& t) {
                                                         e.timeouts.embryonic = seconds(path, t);
                                                     }},
                                                    {"established",
                                                     [&](const YAML::Node& t) {
                                                         e.timeouts.established = seconds(path, t);
                                                     }},
                                                    {"closing",
                                                     [&](const YAML::Node& t) {
                                                         e.timeouts.closing = seconds(path, t);
                                                     }},
                                                    {"closed",
                                                     [&](const YAML::Node& t) {
                                                         e.timeouts.closed = seconds(path, t);
                                                     }},
                                                    {"stateless",
                                                     [&](const YAML::Node& t) {
                                                         e.timeouts.stateless = seconds(path, t);
                                                     }},
                                                });
                                   }},
                              });
                 }},
                {"normalize",
                 [&](const YAML::Node& v) {
                     for_keys(path, v, "normalize",
                              {
                                  {"checksums",
                                   [&](const YAML::Node& x) {
                                       const auto m = checksum_mode_from(
                                           scalar<std::string>(path, x, "normalize.checksums"));
                                       if (!m)
                                           fail(path, x,
                                                "checksums must be 'verify', 'ignore' or 'auto'");
                                       cfg.checksums = *m;
                                   }},
                                  {"ttl_delta",
                                   [&](const YAML::Node& x) {
                                       e.normalize.ttl_delta =
                                           static_cast<uint8_t>(uint_in(path, x, 1, 255));
                                   }},
                                  {"retain_bytes",
                                   [&](const YAML::Node& x) {
                                       e.normalize.retain_bytes = uint_in(path, x, 0, 1u << 24);
                                   }},
                                  {"tso_lengths",
                                   [&](const YAML::Node& x) {
                                       e.decode.tso_lengths =
                                           scalar<bool>(path, x, "normalize.tso_lengths");
                                   }},
                              });
                 }},
                {"reassembly",
                 [&](const YAML::Node& v) {
                     for_keys(path, v, "reassembly",
                              {
                                  {"memcap",
                                   [&](const YAML::Node& x) {
                                       const unsigned mib = uint_in(path, x, 1, 65536);
                                       e.reassembly_nodes = static_cast<uint32_t>(
                                           (uint64_t{mib} << 20) / sizeof(SegmentNode));
                                   }},
                                  {"per_direction",
                                   [&](const YAML::Node& x) {
                                       e.reassembly_per_direction = uint_in(path, x, 0, 1u << 30);
                                   }},
                              });
                 }},
                {"tls",
                 [&](const YAML::Node& v) {
                     for_keys(path, v, "tls",
                              {
                                  {"reclaim_after_ms",
                                   [&](const YAML::Node& x) {
                                       e.tls.reclaim_after_ms = uint_in(path, x, 0, 3600000);
                                   }},
                                  {"reclaim_action",
                                   [&](const YAML::Node& x) {
                                       e.tls.reclaim_verdict =
                                           alert_or_drop(path, x, "reclaim_action");
                                       cfg.reclaim_action_set = true;
                                   }},
                                  {"handshake_buffers",
                                   [&](const YAML::Node& x) {
                                       e.tls.handshake_buffers = uint_in(path, x, 1, 1u << 20);
                                   }},
                                  {"secret_wait_ms",
                                   [&](const YAML::Node& x) {
                                       e.tls.secret_wait_ms = uint_in(path, x, 1, 60000);
                                   }},
                                  {"secret_wait_action",
                                   [&](const YAML::Node& x) {
                                       e.tls.secret_wait_verdict =
                                           alert_or_drop(path, x, "secret_wait_action");
                                   }},
                                  {"decrypt_sessions",
                                   [&](const YAML::Node& x) {
                                       e.tls.decrypt_sessions = uint_in(path, x, 1, 1u << 20);
                                   }},
                                  {"pending_bytes",
                                   [&](const YAML::Node& x) {
                                       e.tls.pending_bytes = uint_in(path, x, 0, 1u << 24);
                                   }},
                                  {"keylog",
                                   [&](const YAML::Node& x) {
                                       cfg.keylog = scalar<std::string>(path, x, "a path");
                                   }},
                              });
                 }},
                {"control",
                 [&](const YAML::Node& v) {
                     for_keys(
                         path, v, "control",
                         {
                             {"socket",
                              [&](const YAML::Node& x) {
                                  cfg.control_socket = scalar<std::string>(path, x, "a path");
                              }},
                             {"listen",
                              [&](const YAML::Node& x) {
                                  cfg.control_listen = scalar<std::string>(path, x, "ADDR:PORT");
                              }},
                             {"cert",
                              [&](const YAML::Node& x) {
                                  cfg.control_cert = scalar<std::string>(path, x, "a path");
                              }},
                             {"key",
                              [&](const YAML::Node& x) {
                                  cfg.control_key = scalar<std::string>(path, x, "a path");
                              }},
                             {"ca",
                              [&](const YAML::Node& x) {
                                  cfg.control_ca = scalar<std::string>(path, x, "a path");
                              }},
                             {"metrics",
                              [&](const YAML::Node& x) {
                                  cfg.metrics_listen = scalar<std::string>(path, x, "ADDR:PORT");
                              }},
                             {"access",
                              [&](const YAML::Node& x) {
                                  std::string err;
                                  if (!control::parse_access(x, cfg.control_access, err))
                                      throw ConfigError{path + ":" + err};
                              }},
                             {"trusted_keys",
                              [&](const YAML::Node& x) {
                                  if (!x.IsSequence()) fail(path, x, "a list of PEM public keys");
                                  for (const auto& k : x)
                                      cfg.trusted_key_files.push_back(
                                          scalar<std::string>(path, k, "a path"));
                              }},
                             {"limits",
                              [&](const YAML::Node& x) {
                                  std::string err;
                                  if (!control::parse_limits(x, cfg.control_limits, err))
                                      throw ConfigError{path + ":" + err};
                              }},
                         });
                 }},
                {"fleet",
                 [&](const YAML::Node& v) { fleet::parse_fleet_options(path, v, cfg.fleet); }},
                {"accounts",
                 [&](const YAML::Node& v) {
                     auto& a = e.accounts;
                     auto list = [&](const YAML::Node& x, std::vector<std::string>& out) {
                         if (!x.IsSequence()) fail(path, x, "expected a list of names");
                         out.clear();
                         for (const auto& n : x)
                             out.push_back(scalar<std::string>(path, n, "a name"));
                     };
                     for_keys(
                         path, v, "accounts",
                         {
                             {"secret_file",
                              [&](const YAML::Node& x) {
                                  cfg.account_secret_file = scalar<std::string>(path, x, "a path");
                              }},
                             {"allow_default_secret",
                              [&](const YAML::Node& x) {
                                  cfg.allow_default_secret =
                                      scalar<bool>(path, x, "accounts.allow_default_secret");
                              }},
                             {"cookie_names",
                              [&](const YAML::Node& x) { list(x, a.cookie_names); }},
                             {"org_headers", [&](const YAML::Node& x) { list(x, a.org_headers); }},
                             {"credential_precedence",
                              [&](const YAML::Node& x) {
                                  std::vector<std::string> names;
                                  list(x, names);
                                  a.precedence.clear();
                                  for (const std::string& n : names) {
                                      const auto src = account::credential_source_from(n);
                                      if (!src)
                                          fail(path, x,
                                               "credential_precedence lists x-api-key, bearer, "
                                               "cookie (got '" +
                                                   n + "')");
                                      a.precedence.push_back(*src);
                                  }
                                  if (a.precedence.empty())
                                      fail(path, x, "credential_precedence needs one source");
                              }},
                             {"signup_paths",
                              [&](const YAML::Node& x) { list(x, a.signup_paths); }},
                             {"policy",
                              [&](const YAML::Node& x) {
                                  cfg.policy_path = scalar<std::string>(path, x, "a path");
                              }},
                             {"enabled",
                              [&](const YAML::Node& x) {
                                  cfg.accounts_enabled = scalar<bool>(path, x, "true or false");
                              }},
                             {"enforce",
                              [&](const YAML::Node& x) {
                                  cfg.enforce = scalar<bool>(path, x, "true or false");
                              }},
                             {"clients",
                              [&](const YAML::Node& x) {
                                  cfg.clients_path = scalar<std::string>(path, x, "a path");
                              }},
                             {"asn_table",
                              [&](const YAML::Node& x) {
                                  cfg.asn_table_path = scalar<std::string>(path, x, "a path");
                              }},
                         });
                 }},
                {"rules",
                 [&](const YAML::Node& v) {
                     auto& ro = cfg.rule_options;
                     for_keys(
                         path, v, "rules",
                         {
                             {"enabled",
                              [&](const YAML::Node& x) {
                                  cfg.rules_enabled = scalar<bool>(path, x, "true or false");
                              }},
                             {"files",
                              [&](const YAML::Node& x) {
                                  if (x.IsScalar()) {
                                      cfg.rule_files.push_back(
                                          scalar<std::string>(path, x, "a path"));
                                      return;
                                  }
                                  if (!x.IsSequence())
                                      fail(path, x, "'files' must be a path or a list");
                                  for (const auto& f : x)
                                      cfg.rule_files.push_back(
                                          scalar<std::string>(path, f, "a path"));
                              }},
                             {"dialect",
                              [&](const YAML::Node& x) {
                                  const auto d =
                                      scalar<std::string>(path, x, "auto, suricata or snort3");
                                  if (d == "auto")
                                      ro.dialect = rules::Dialect::Auto;
                                  else if (d == "suricata")
                                      ro.dialect = rules::Dialect::Suricata;
                                  else if (d == "snort3")
                                      ro.dialect = rules::Dialect::Snort3;
                                  else
                                      fail(path, x, "dialect must be auto, suricata or snort3");
                              }},
                             {"classification",
                              [&](const YAML::Node& x) {
                                  ro.classification_file = scalar<std::string>(path, x, "a path");
                              }},
                             {"strict",
                              [&](const YAML::Node& x) {
                                  ro.skip_invalid = !scalar<bool>(path, x, "true or false");
                              }},
                             {"address_groups",
                              [&](const YAML::Node& x) {
                                  if (!x.IsMap())
                                      fail(path, x, "'address_groups' must be a mapping");
                                  for (const auto& kv : x) {
                                      const auto name =
                                          scalar<std::string>(path, kv.first, "a name");
                                      const auto val = scalar<std::string>(path, kv.second,
                                                                           "an address expression");
                                      rules::AddressSet probe;
                                      std::string err;
                                      ro.vars.addresses[name] = val;
                                      if (!rules::parse_address_set(val, ro.vars, probe, err))
                                          fail(path, kv.second, name + ": " + err);
                                  }
                              }},
                             {"port_groups",
                              [&](const YAML::Node& x) {
                                  if (!x.IsMap()) fail(path, x, "'port_groups' must be a mapping");
                                  for (const auto& kv : x) {
                                      const auto name =
                                          scalar<std::string>(path, kv.first, "a name");
                                      const auto val =
                                          scalar<std::string>(path, kv.second, "a port expression");
                                      rules::PortSet probe;
                                      std::string err;
                                      ro.vars.ports[name] = val;
                                      if (!rules::parse_port_set(val, ro.vars, probe, err))
                                          fail(path, kv.second, name + ": " + err);
                                  }
                              }},
                             {"datasets",
                              [&](const YAML::Node& x) {
                                  if (!x.IsMap()) fail(path, x, "'datasets' must be a mapping");
                                  for (const auto& kv : x) {
                                      const auto name =
                                          scalar<std::string>(path, kv.first, "a name");
                                      rules::RuleSetOptions::DatasetFile df{"string", ""};
                                      for_keys(path, kv.second, "datasets.NAME",
                                               {{"type",
                                                 [&](const YAML::Node& y) {
                                                     df.type = scalar<std::string>(
                                                         path, y, "string, md5 or sha256");
                                                     if (df.type != "string" && df.type != "md5" &&
                                                         df.type != "sha256")
                                                         fail(path, y,
                                                              "type must be string, md5 or sha256");
                                                 }},
                                                {"file", [&](const YAML::Node& y) {
                                                     df.path =
                                                         scalar<std::string>(path, y, "a path");
                                                 }}});
                                      if (df.path.empty())
                                          fail(path, kv.second, "dataset needs a 'file'");
                                      ro.datasets[name] = df;
                                  }
                              }},
                         });
                 }},
                {"http",
                 [&](const YAML::Node& v) {
                     auto& h = e.http;
                     for_keys(path, v, "http",
                              {
                                  {"enabled",
                                   [&](const YAML::Node& x) {
                                       h.enabled = scalar<bool>(path, x, "true or false");
                                   }},
                                  {"sessions",
                                   [&](const YAML::Node& x) {
                                       h.sessions = uint_in(path, x, 1, 65535);
                                   }},
                                  {"max_header_bytes",
                                   [&](const YAML::Node& x) {
                                       h.max_header_bytes = uint_in(path, x, 1024, 1u << 20);
                                   }},
                                  {"header_buffers",
                                   [&](const YAML::Node& x) {
                                       h.header_buffers = uint_in(path, x, 1, 1u << 20);
                                   }},
                                  {"body_cap",
                                   [&](const YAML::Node& x) {
                                       h.body_cap = uint_in(path, x, 0, 64u << 20);
                                   }},
                                  {"body_buffers",
                                   [&](const YAML::Node& x) {
                                       h.body_buffers = uint_in(path, x, 0, 1u << 20);
                                   }},
                                  {"decoders",
                                   [&](const YAML::Node& x) {
                                       h.decoders = uint_in(path, x, 0, 1u << 16);
                                   }},
                                  {"reclaim_after_ms",
                                   [&](const YAML::Node& x) {
                                       h.reclaim_after_ms = uint_in(path, x, 0, 3600000);
                                   }},
                                  {"reclaim_action",
                                   [&](const YAML::Node& x) {
                                       h.reclaim_verdict = alert_or_drop(path, x, "reclaim_action");
                                       cfg.http_reclaim_action_set = true;
                                   }},
                                  {"prompt_excerpt",
                                   [&](const YAML::Node& x) {
                                       h.prompt_excerpt = uint_in(path, x, 0, 128);
                                   }},
                                  {"max_decoded_bytes",
                                   [&](const YAML::Node& x) {
                                       h.max_decoded_bytes = uint_in(path, x, 65536, 1u << 30);
                                   }},
                                  {"max_decode_ratio",
                                   [&](const YAML::Node& x) {
                                       h.max_decode_ratio = uint_in(path, x, 2, 100000);
                                   }},
                                  {"cap_action",
                                   [&](const YAML::Node& x) {
                                       h.cap_verdict = alert_or_drop(path, x, "cap_action");
                                       cfg.cap_action_set = true;
                                   }},
                                  {"smuggling",
                                   [&](const YAML::Node& x) {
                                       const auto a = scalar<std::string>(path, x, "an action");
                                       auto vd = verdict_from_name(a);
                                       if (!vd || (*vd != Verdict::Pass && *vd != Verdict::Alert &&
                                                   *vd != Verdict::Drop && *vd != Verdict::Reject))
                                           fail(path, x,
                                                "smuggling must be pass, alert, drop or reject");
                                       h.smuggling_verdict = *vd;
                                   }},
                                  {"eve",
                                   [&](const YAML::Node& x) {
                                       h.eve_http = scalar<bool>(path, x, "true or false");
                                   }},
                                  {"personality",
                                   [&](const YAML::Node& x) {
                                       using P = http::HttpOptions::Personality;
                                       const auto n = scalar<std::string>(path, x, "a server");
                                       if (n == "generic")
                                           h.personality = P::Generic;
                                       else if (n == "nginx")
                                           h.personality = P::Nginx;
                                       else if (n == "envoy")
                                           h.personality = P::Envoy;
                                       else
                                           fail(path, x,
                                                "personality must be generic, nginx or envoy");
                                   }},
                              });
                 }},
                {"http2",
                 [&](const YAML::Node& v) {
                     auto& h = e.http2;
                     for_keys(
                         path, v, "http2",
                         {
                             {"enabled",
                              [&](const YAML::Node& x) {
                                  h.enabled = scalar<bool>(path, x, "true or false");
                              }},
                             {"sessions",
                              [&](const YAML::Node& x) {
                                  h.sessions = uint_in(path, x, 1, 65534);
                              }},
                             {"streams",
                              [&](const YAML::Node& x) { h.streams = uint_in(path, x, 1, 65534); }},
                             {"max_concurrent_streams",
                              [&](const YAML::Node& x) {
                                  h.max_concurrent_streams = uint_in(path, x, 1, 128);
                              }},
                             {"max_header_bytes",
                              [&](const YAML::Node& x) {
                                  h.max_header_bytes = uint_in(path, x, 1024, 1u << 20);
                              }},
                             {"header_buffers",
                              [&](const YAML::Node& x) {
                                  h.header_buffers = uint_in(path, x, 1, 65534);
                              }},
                             {"max_continuations",
                              [&](const YAML::Node& x) {
                                  h.max_continuations = uint_in(path, x, 1, 100000);
                              }},
                             {"rapid_reset_count",
                              [&](const YAML::Node& x) {
                                  h.rapid_reset_count = uint_in(path, x, 1, 1u << 24);
                              }},
                             {"rapid_reset_window_ms",
                              [&](const YAML::Node& x) {
                                  h.rapid_reset_window_ms = uint_in(path, x, 1, 3600000);
                              }},
                             {"hpack_memory_mb",
                              [&](const YAML::Node& x) {
                                  h.hpack_memory_mb = uint_in(path, x, 1, 65536);
                              }},
                             {"body_buffers_per_connection",
                              [&](const YAML::Node& x) {
                                  h.body_buffers_per_connection = uint_in(path, x, 1, 65534);
                              }},
                             {"abuse_action",
                              [&](const YAML::Node& x) {
                                  h.abuse_verdict = alert_or_drop(path, x, "abuse_action");
                                  cfg.h2_abuse_action_set = true;
                              }},
                         });
                 }},
                {"answers",
                 [&](const YAML::Node& v) {
                     auto& a = e.answers;
                     for_keys(
                         path, v, "answers",
                         {
                             {"mode",
                              [&](const YAML::Node& x) {
                                  const auto m = scalar<std::string>(path, x, "http or reset");
                                  if (m != "http" && m != "reset")
                                      fail(path, x, "answers.mode must be http or reset");
                                  a.http = m == "http";
                              }},
                             {"templates",
                              [&](const YAML::Node& x) {
                                  cfg.answers_path = scalar<std::string>(path, x, "a path");
                              }},
                             {"sessions",
                              [&](const YAML::Node& x) {
                                  a.sessions = uint_in(path, x, 1, 65535);
                              }},
                             {"max_retransmits",
                              [&](const YAML::Node& x) {
                                  a.max_retransmits = uint_in(path, x, 0, 20);
                              }},
                             {"rto_ms",
                              [&](const YAML::Node& x) { a.rto_ms = uint_in(path, x, 10, 60000); }},
                         });
                 }},
                {"quic",
                 [&](const YAML::Node& v) {
                     auto& q = e.quic;
                     for_keys(path, v, "quic",
                              {
                                  {"enabled",
                                   [&](const YAML::Node& x) {
                                       q.enabled = scalar<bool>(path, x, "true or false");
                                   }},
                                  {"sessions",
                                   [&](const YAML::Node& x) {
                                       q.sessions = uint_in(path, x, 1, 65534);
                                   }},
                                  {"reclaim_after_ms",
                                   [&](const YAML::Node& x) {
                                       q.reclaim_after_ms = uint_in(path, x, 0, 3600000);
                                   }},
                                  {"action",
                                   [&](const YAML::Node& x) {
                                       const auto s = scalar<std::string>(path, x, "pass or block");
                                       if (s != "pass" && s != "block")
                                           fail(path, x, "quic.action must be pass or block");
                                       q.action = s == "block" ? quic::QuicAction::Block
                                                               : quic::QuicAction::Pass;
                                       cfg.quic_action_set = true;
                                   }},
                              });
                 }},
                {"malformed",
                 [&](const YAML::Node& v) {
                     const auto p = scalar<std::string>(path, v, "drop or pass");
                     if (p == "drop")
                         e.malformed = MalformedPolicy::Drop;
                     else if (p == "pass")
                         e.malformed = MalformedPolicy::Pass;
                     else
                         fail(path, v, "malformed must be 'drop' or 'pass'");
                 }},
                {"fragments",
                 [&](const YAML::Node& v) {
                     const auto p = scalar<std::string>(path, v, "drop or reassemble");
                     if (p == "drop")
                         e.fragments = FragmentPolicy::Drop;
                     else if (p == "reassemble")
                         e.fragments = FragmentPolicy::Reassemble;
                     else
                         fail(path, v, "fragments must be 'drop' or 'reassemble'");
                 }},
                {"filters",
                 [&](const YAML::Node& v) {
                     if (!v.IsSequence()) fail(path, v, "'filters' must be a list");
                     for (const auto& f : v) filters.push_back(parse_filter(path, f));
                     if (filters.size() >= 0xffff) fail(path, v, "too many filters");
                 }},
                {"eve",
                 [&](const YAML::Node& v) {
                     for_keys(path, v, "eve",
                              {
                                  {"path",
                                   [&](const YAML::Node& x) {
                                       cfg.eve_path = scalar<std::string>(path, x, "a path");
                                   }},
                                  {"stats_interval",
                                   [&](const YAML::Node& x) {
                                       cfg.stats_interval_s = uint_in(path, x, 0, 86400);
                                   }},
                                  {"flow_records",
                                   [&](const YAML::Node& x) {
                                       e.eve_flow_records = scalar<bool>(path, x, "true or false");
                                   }},
                                  {"redis",
                                   [&](const YAML::Node& x) {
                                       fleet::parse_eve_redis_options(path, x, cfg.eve_redis);
                                   }},
                              });
                 }},
            });
        if (!filters.empty()) e.filters = StaticFilterTable(std::move(filters));
    } catch (const ConfigError& err) {
        return err.text;
    } catch (const YAML::Exception& e) {  // anything yaml-cpp rejects that we did not map
        return path + ":" + std::to_string(e.mark.line + 1) + ":" +
               std::to_string(e.mark.column + 1) + ": " + e.msg;
    }
    return "";
}

std::string load_policy(RuntimeConfig& cfg) {
    cfg.policy.reset();
    if (!cfg.accounts_enabled) return "";
    const std::string path =
        cfg.policy_path.empty() ? rules::shipped_file("policy/default.yaml") : cfg.policy_path;
    std::string err;
    std::ifstream in(path);
    if (!in) return path + ": cannot read policy";
    std::stringstream text;
    text << in.rdbuf();
    auto p = account::Policy::parse(text.str(), path, err);
    if (!p) return err;
    cfg.policy = std::make_shared<const account::Policy>(std::move(*p));
    const auto d = sha256(as_bytes(text.str()));
    char hex[64];
    to_hex(d, hex);
    cfg.policy_sha256.assign(hex, sizeof hex);
    cfg.policy_source = path;
    const std::string clients =
        cfg.clients_path.empty() ? rules::shipped_file("policy/clients.yaml") : cfg.clients_path;
    if (!account::load_client_claims(clients, cfg.engine.accounts.client_claims, err)) return err;
    cfg.asn_table.reset();
    if (!cfg.asn_table_path.empty()) {
        auto t = account::AsnTable::load(cfg.asn_table_path, err);
        if (!t) return err;
        cfg.asn_table = std::make_shared<const account::AsnTable>(std::move(*t));
    }
    return "";
}

std::string load_answers(RuntimeConfig& cfg) {
    // The file named, else answers.yaml next to the policy, else the shipped one; the
    // built-in templates (the same as the shipped file) when none is there.
    std::string path = cfg.answers_path;
    if (path.empty() && !cfg.policy_path.empty()) {
        const auto beside = std::filesystem::path(cfg.policy_path).parent_path() / "answers.yaml";
        if (std::filesystem::exists(beside)) path = beside.string();
    }
    if (path.empty()) {
        const std::string shipped = rules::shipped_file("policy/answers.yaml");
        if (std::filesystem::exists(shipped)) path = shipped;
    }
    cfg.engine.answers.templates.reset();
    if (path.empty()) return "";
    std::ifstream in(path);
    if (!in) return path + ": cannot read answer templates";
    std::stringstream text;
    text << in.rdbuf();
    std::string err;
    auto t = AnswerTemplates::parse(text.str(), path, err);
    if (!t) return err;
    cfg.engine.answers.templates = std::make_shared<const AnswerTemplates>(std::move(*t));
    cfg.answers_source = path;
    return "";
}

std::string load_account_secret(RuntimeConfig& cfg) {
    if (cfg.account_secret_file.empty()) return "";
    const std::string& path = cfg.account_secret_file;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return path + ": cannot read the account secret: " + std::strerror(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) {
        ::close(fd);
        return path + ": the account secret must be a regular file of at most 4096 bytes";
    }
    if ((st.st_mode & 077) != 0) {
        ::close(fd);
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return path + ": mode " + mode +
               " lets the group or others read the account secret (chmod 600 " + path + ")";
    }
    std::string secret(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < secret.size()) {
        const ssize_t n = ::read(fd, secret.data() + got, secret.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    secret.resize(got);
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.size() < 16) {
        OPENSSL_cleanse(secret.data(), secret.size());
        return path + ": the account secret must be at least 16 bytes";
    }
    cfg.engine.accounts.secret = std::move(secret);
    return "";
}

std::string check_default_secret(const RuntimeConfig& cfg, bool live) {
    if (!cfg.accounts_enabled || !cfg.engine.accounts.secret.empty()) return "";
    if (live && !cfg.allow_default_secret)
        return "no account secret: account ids would use the public default key, which anyone "
               "can use to compute them. Set accounts.secret_file (or --account-secret-file) to "
               "a file of 16+ random bytes, mode 0600 (or accounts.allow_default_secret: true "
               "for a lab)";
    std::fprintf(stderr,
                 "sluice-dataplane: warning: no accounts.secret_file: account ids use the public "
                 "default key (anyone can compute them)\n");
    return "";
}

std::string load_rules(RuntimeConfig& cfg, std::string* note) {
    cfg.engine.rules.reset();
    if (!cfg.rules_enabled) return "";
    if (!cfg.rules_bundle.empty()) {
        std::ifstream in(cfg.rules_bundle, std::ios::binary);
        if (!in) return cfg.rules_bundle + ": cannot read rule bundle\n";
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
        // The same trust rule as a pushed bundle: databases only from a verified signature.
        auto trusted = rules::load_bundle(bytes, cfg.trusted_keys.get());
        auto& loaded = trusted.load;
        std::string out;
        for (const auto& e : loaded.compiled.errors) out += e.format() + "\n";
        if (!loaded.compiled.rules) return out.empty() ? "rule bundle rejected\n" : out;
        if (note != nullptr && loaded.compiled.databases_recompiled > 0)
            *note = cfg.rules_bundle + ": " + loaded.compiled.recompile_reason + "\n";
        cfg.engine.rules = std::move(loaded.compiled.rules);
        return "";
    }
    std::vector<std::string> files = cfg.rule_files;
    if (files.empty()) files = rules::shipped_rule_files();
    auto set = rules::load_rule_files(files, cfg.rule_options);
    std::string out;
    for (const auto& e : set.errors) out += e.format() + "\n";
    if (!set.set) return out.empty() ? "rules: no rule set\n" : out;
    // Skipped rules: the first few here (every one with --check-rules).
    if (note != nullptr && !set.set->skipped.empty())
        *note = rules::skip_report(set.set->skipped, 20);
    auto compiled =
        rules::CompiledRules::compile(std::shared_ptr<const rules::RuleSet>(std::move(set.set)));
    for (const auto& e : compiled.errors) out += e.format() + "\n";
    if (!compiled.rules) return out;
    cfg.engine.rules = std::move(compiled.rules);
    return "";
}

std::string load_trusted_keys(RuntimeConfig& cfg) {
    auto keys = std::make_shared<rules::TrustedKeys>();
    for (const std::string& f : cfg.trusted_key_files) {
        std::string err;
        if (!keys->add_file(f, err)) return "trusted key " + err;
    }
    cfg.trusted_keys = std::move(keys);
    return "";
}

std::optional<ChecksumMode> checksum_mode_from(std::string_view s) {
    if (s == "verify") return ChecksumMode::Verify;
    if (s == "ignore") return ChecksumMode::Ignore;
    if (s == "auto") return ChecksumMode::Auto;
    return std::nullopt;
}

std::string_view checksum_mode_name(ChecksumMode m) {
    switch (m) {
        case ChecksumMode::Verify:
            return "verify";
        case ChecksumMode::Ignore:
            return "ignore";
        case ChecksumMode::Auto:
            return "auto";
    }
    return "auto";
}

std::string validate_config(const RuntimeConfig& cfg) {
    if (std::string e = fleet::validate(cfg.fleet); !e.empty()) return e;
    if (cfg.eve_redis.enabled && cfg.eve_redis.seeds.empty())
        return "eve.redis: no Redis to push to (eve.redis.seeds, or fleet.redis.seeds)";
    if (cfg.mode == RunMode::Offline) {
        if (cfg.pcap_in.empty())
            return "no input: give --pcap FILE (offline) or a config with ports";
        return "";
    }
    if (cfg.ports.empty()) return "live mode needs at least one port (config 'ports' or --port)";
    std::set<std::string> names;
    for (const auto& p : cfg.ports)
        if (!names.insert(p.name).second) return "port '" + p.name + "' is defined twice";
    std::set<std::string> used;
    auto check = [&](const std::string& n) -> std::string {
        if (!names.count(n)) return "unknown port '" + n + "'";
        if (!used.insert(n).second) return "port '" + n + "' has more than one role";
        return "";
    };
    for (const auto& [a, b] : cfg.pairs) {
        if (auto e = check(a); !e.empty()) return "inline pair: " + e;
        if (auto e = check(b); !e.empty()) return "inline pair: " + e;
    }
    for (const auto& m : cfg.monitor)
        if (auto e = check(m); !e.empty()) return "monitor: " + e;
    if (used.empty()) return "no port has a role: add inline_pairs or monitor_ports";
    if (cfg.mode == RunMode::Inline && cfg.pairs.empty()) return "inline mode needs an inline pair";
    if (cfg.mode != RunMode::Offline && cfg.engine.decode.tso_lengths)
        return "normalize.tso_lengths is for captures (offline): on a live port a zero IP length "
               "is malformed";
    if ((cfg.ring_size & (cfg.ring_size - 1)) != 0) return "io.ring_size must be a power of two";
    if (cfg.engine.fragments == FragmentPolicy::Reassemble && cfg.mode == RunMode::Inline)
        return "fragments: reassemble is for monitor and offline mode (inline mode does not "
               "re-fragment reassembled datagrams; it drops fragments)";
    if (cfg.engine.fragments == FragmentPolicy::Reassemble && cfg.topology == Topology::Rss)
        return "fragments: reassemble needs the distributor topology";
    return "";
}

}  // namespace sluice
