#include "runtime/metrics.h"

#include "fleet/fleet_link.h"

#include <array>
#include <cstdio>
#include <utility>

namespace sluice {

namespace {
using nlohmann::json;

class Writer {
  public:
    // One metric family; `labels` like {reason="verdict"} may be empty.
    void family(const char* name, const char* type, const char* help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    void sample(const char* name, const std::string& labels, const json& v) {
        if (!v.is_number()) return;
        char b[64];
        std::snprintf(b, sizeof b, "%.17g", v.get<double>());
        out_ += name;
        out_ += labels;
        out_ += ' ';
        out_ += b;
        out_ += '\n';
    }
    void one(const char* name, const char* type, const char* help, const json& v) {
        if (!v.is_number()) return;
        family(name, type, help);
        sample(name, "", v);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

const json& at(const json& j, const char* key) {
    static const json none;
    return j.is_object() && j.contains(key) ? j[key] : none;
}
}  // namespace

std::string prometheus_text(const json& s) {
    Writer w;
    const json& e = at(s, "engine");
    w.one("sluice_packets_total", "counter", "Packets received by the workers", at(e, "packets"));
    w.one("sluice_bytes_total", "counter", "Bytes received by the workers", at(e, "bytes"));
    w.one("sluice_forwarded_total", "counter", "Packets forwarded", at(e, "forwarded"));
    w.family("sluice_dropped_total", "counter", "Packets dropped, by reason");
    for (const char* r : {"verdict", "malformed", "fragment", "normalized", "held"})
        w.sample("sluice_dropped_total", std::string("{reason=\"") + r + "\"}",
                 at(e, (std::string("dropped_") + r).c_str()));
    const json& nr = at(e, "normalized_by_reason");
    w.family("sluice_normalized_total", "counter",
             "Packets a host would discard (dropped inline) or noted, by reason");
    if (nr.is_object())
        for (const auto& [k, v] : nr.items())
            w.sample("sluice_normalized_total", "{reason=\"" + k + "\"}", v);
    w.one("sluice_rst_injected_total", "counter", "TCP resets injected", at(e, "rst_injected"));
    const json& an = at(e, "answers");
    w.family("sluice_answers_total", "counter",
             "Stopped requests answered in HTTP, by status, or reset instead (reason)");
    w.sample("sluice_answers_total", "{kind=\"http\",status=\"403\"}", at(an, "forbidden"));
    w.sample("sluice_answers_total", "{kind=\"http\",status=\"429\"}", at(an, "rate_limited"));
    if (const json& fb = at(an, "reset_instead"); fb.is_object())
        for (const auto& [k, v] : fb.items())
            w.sample("sluice_answers_total", "{kind=\"reset\",reason=\"" + k + "\"}", v);
    w.one("sluice_answer_retransmits_total", "counter", "Answer segments resent",
          at(an, "retransmits"));
    w.one("sluice_answers_abandoned_total", "counter",
          "Answers never acknowledged (the client was reset)", at(an, "abandoned"));
    w.one("sluice_flows_created_total", "counter", "Flows created", at(e, "flows_created"));
    w.one("sluice_flows_ended_total", "counter", "Flows ended", at(e, "flows_ended"));
    w.one("sluice_flows_evicted_total", "counter", "Flows evicted (table full)",
          at(e, "flows_evicted"));
    const json& r = at(e, "rules");
    w.one("sluice_rules_loaded", "gauge", "Rules in the set in force", at(r, "loaded"));
    w.one("sluice_rules_skipped", "gauge",
          "Rules of the set in force left out as unsupported or malformed", at(r, "skipped"));
    w.one("sluice_rule_alerts_total", "counter", "Rule alerts raised by the workers",
          at(r, "alerts"));
    w.family("sluice_rule_class_alerts_total", "counter", "Rule alerts, by classtype");
    if (const json& bc = at(r, "alerts_by_class"); bc.is_object())
        for (const auto& [k, n] : bc.items())
            w.sample("sluice_rule_class_alerts_total", "{classtype=\"" + k + "\"}", n);
    w.one("sluice_rule_swaps_total", "counter", "Rule sets swapped in at run time", at(r, "swaps"));
    w.one("sluice_rule_threshold_alerts_total", "counter", "Alerts of thresholded rules",
          at(r, "threshold_alerts"));
    const json& h = at(e, "http");
    w.one("sluice_http_requests_total", "counter", "HTTP requests parsed", at(h, "requests"));
    w.one("sluice_http_parse_recovered_total", "counter",
          "HTTP/1.x heads parsed past a malformation (each one an anomaly record)",
          at(h, "parse_recovered"));
    w.one("sluice_http_transactions_total", "counter",
          "Transactions (request and answer) over HTTP/1.x and HTTP/2", at(h, "transactions"));
    w.one("sluice_http_llm_requests_total", "counter", "LLM API requests extracted",
          at(h, "llm_requests"));
    w.family("sluice_http_enforced_total", "counter", "Requests stopped by enforcement, by action");
    w.sample("sluice_http_enforced_total", "{action=\"block\"}", at(h, "enforced_block"));
    w.sample("sluice_http_enforced_total", "{action=\"rate-limit\"}", at(h, "enforced_rate_limit"));
    // HTTP/2: every counter of the stage's one table, and its anomalies by name.
    const json& h2 = at(e, "http2");
    w.one("sluice_http2_connections_total", "counter", "HTTP/2 connections parsed",
          at(h2, "connections"));
    w.one("sluice_http2_streams_total", "counter", "HTTP/2 streams that became transactions",
          at(h2, "streams"));
    w.one("sluice_http2_streams_untracked_total", "counter",
          "HTTP/2 streams over a stream limit (headers decoded, not inspected)",
          at(h2, "streams_untracked"));
    w.one("sluice_http2_hpack_errors_total", "counter", "HTTP/2 header blocks HPACK refused",
          at(h2, "hpack_errors"));
    w.one("sluice_http2_parse_stopped_total", "counter",
          "HTTP/2 connections whose parsing stopped on a protocol error or limit",
          at(h2, "parse_stopped"));
    const json& h2a = at(h2, "anomalies");
    w.family("sluice_http2_anomalies_total", "counter", "HTTP/2 anomalies, by name");
    if (h2a.is_object())
        for (const auto& [k, v] : h2a.items())
            w.sample("sluice_http2_anomalies_total", "{anomaly=\"" + k + "\"}", v);
    const json& q = at(e, "quic");
    w.one("sluice_quic_connections_total", "counter", "QUIC connections (client Initials) seen",
          at(q, "connections"));
    w.one("sluice_quic_hellos_total", "counter", "QUIC ClientHellos read whole and logged",
          at(q, "hellos"));
    w.one("sluice_quic_blocked_total", "counter", "QUIC connections dropped by quic.action",
          at(q, "blocked"));
    const json& t = at(e, "tls");
    w.one("sluice_tls_sessions_total", "counter", "TLS sessions seen", at(t, "sessions"));
    w.one("sluice_tls_decrypt_sessions_total", "counter",
          "TLS sessions decrypted (their secrets were known)", at(t, "decrypt_sessions"));
    w.one("sluice_tls_decrypt_no_secret_total", "counter",
          "TLS sessions whose secrets never came (not decrypted)", at(t, "decrypt_no_secret"));
    w.one("sluice_tls_decrypt_failures_total", "counter", "TLS records that failed to decrypt",
          at(t, "decrypt_failures"));
    w.one("sluice_tls_decrypted_bytes_total", "counter", "TLS application bytes decrypted",
          at(t, "decrypted_bytes"));
    // Pooled state taken back from idle holders under pressure (each also an anomaly record).
    w.family("sluice_pool_reclaimed_total", "counter",
             "Pooled inspection state taken back from idle holders, by pool");
    w.sample("sluice_pool_reclaimed_total", "{pool=\"tls_handshake\"}",
             at(t, "handshake_buffers_reclaimed"));
    w.sample("sluice_pool_reclaimed_total", "{pool=\"tls_decrypt\"}", at(t, "decrypt_reclaimed"));
    w.sample("sluice_pool_reclaimed_total", "{pool=\"http_buffers\"}", at(h, "buffers_reclaimed"));
    w.sample("sluice_pool_reclaimed_total", "{pool=\"http2_bodies\"}",
             at(at(e, "http2"), "bodies_reclaimed"));
    const json& a = at(e, "accounts");
    w.one("sluice_accounts_seen", "gauge", "Accounts seen", at(a, "accounts"));
    w.one("sluice_accounts_active", "gauge", "Accounts holding state (seen within the window)",
          at(a, "active"));
    w.one("sluice_accounts_flagged", "gauge", "Accounts whose own action is not pass",
          at(a, "flagged"));
    w.one("sluice_account_clusters", "gauge", "Clusters of two or more accounts",
          at(a, "clusters"));
    w.one("sluice_account_observations_total", "counter", "Observations the correlator consumed",
          at(a, "observations"));
    w.one("sluice_account_observations_dropped_total", "counter",
          "Observations dropped (queue full)", at(a, "observations_dropped"));
    w.one("sluice_account_memory_bytes", "gauge", "Correlator state", at(a, "memory_bytes"));
    const json& cap = at(a, "capacity");
    w.one("sluice_accounts_capacity", "gauge", "Accounts the correlator may hold",
          at(cap, "accounts"));
    w.one("sluice_accounts_tracked", "gauge", "Accounts held now", at(cap, "tracked"));
    w.one("sluice_accounts_evicted_total", "counter", "Accounts evicted at capacity",
          at(cap, "evicted"));
    w.one("sluice_accounts_folded_total", "counter",
          "Enforced accounts past the cap folded into their prefix", at(cap, "folded"));
    w.one("sluice_account_keys_trimmed_total", "counter",
          "Signal keys dropped oldest-first from a full map", at(cap, "keys_trimmed"));
    const json& en = at(a, "enforcement");
    w.one("sluice_enforcement_snapshots_total", "counter", "Enforcement snapshots published",
          at(en, "snapshots"));
    w.one("sluice_enforcement_entries", "gauge", "Entries in the enforcement snapshot in force",
          at(en, "entries"));
    const json& d = at(en, "delay_us");
    if (d.is_object()) {
        w.family("sluice_enforcement_delay_microseconds", "summary",
                 "Decision to enforcement on every worker");
        w.sample("sluice_enforcement_delay_microseconds", "{quantile=\"0.5\"}", at(d, "p50"));
        w.sample("sluice_enforcement_delay_microseconds", "{quantile=\"0.99\"}", at(d, "p99"));
        w.sample("sluice_enforcement_delay_microseconds_count", "", at(d, "measured"));
    }
    // The fleet (docs/fleet.md): every counter of its one table.
    if (const json& f = at(e, "fleet"); f.is_object()) {
        w.one("sluice_fleet_connected", "gauge", "1 if the last Redis batch went through",
              json(f.contains("connected") && f["connected"].is_boolean() &&
                           f["connected"].get<bool>()
                       ? 1
                       : 0));
        w.one("sluice_fleet_masters", "gauge", "Redis masters in the slot map", at(f, "masters"));
        w.one("sluice_fleet_publish_lag_milliseconds", "gauge",
              "How long the last batch's oldest evidence waited to reach Redis", at(f, "lag_ms"));
        for (size_t i = 0; i < static_cast<size_t>(fleet::FleetCtr::Count); ++i) {
            const std::string name(fleet::fleet_counter_name(static_cast<fleet::FleetCtr>(i)));
            const std::string metric = "sluice_fleet_" + name + "_total";
            const std::string help = "Fleet: " + name + " (docs/fleet.md)";
            w.one(metric.c_str(), "counter", help.c_str(), at(f, name.c_str()));
        }
    }
    // Ports (the PMD's counters: imissed is what the NIC dropped for want of descriptors) and
    // the lcores' I/O drops, summed.
    static constexpr std::array<std::pair<const char*, const char*>, 6> kPort = {{
        {"ipackets", "sluice_port_rx_packets_total"},
        {"opackets", "sluice_port_tx_packets_total"},
        {"imissed", "sluice_port_rx_missed_total"},
        {"ierrors", "sluice_port_rx_errors_total"},
        {"oerrors", "sluice_port_tx_errors_total"},
        {"rx_nombuf", "sluice_port_rx_nombuf_total"},
    }};
    if (const json& ports = at(s, "ports"); ports.is_array() && !ports.empty())
        for (const auto& [key, name] : kPort) {
            w.family(name, "counter", "Port counters (rte_eth_stats), by port");
            for (const json& p : ports)
                if (p.contains("name") && p["name"].is_string())
                    w.sample(name, "{port=\"" + p["name"].get<std::string>() + "\"}", at(p, key));
        }
    if (const json& lc = at(s, "lcores"); lc.is_array()) {
        uint64_t tx_dropped = 0, ring_full = 0;
        for (const json& l : lc) {
            const json& c = at(l, "counters");
            if (at(c, "tx_dropped").is_number()) tx_dropped += c["tx_dropped"].get<uint64_t>();
            if (at(c, "ring_full_drops").is_number())
                ring_full += c["ring_full_drops"].get<uint64_t>();
        }
        w.one("sluice_tx_dropped_total", "counter", "Packets the ports would not take (TX full)",
              json(tx_dropped));
        w.one("sluice_ring_full_drops_total", "counter",
              "Packets dropped because a worker's ring was full", json(ring_full));
    }
    const json& v = at(s, "eve");
    w.one("sluice_eve_written_total", "counter", "EVE records written", at(v, "written"));
    w.one("sluice_eve_dropped_total", "counter", "EVE records dropped (queue full)",
          at(v, "dropped"));
    const json& vr = at(v, "redis");
    w.one("sluice_eve_redis_pushed_total", "counter", "EVE records pushed to Redis",
          at(vr, "pushed"));
    w.one("sluice_eve_redis_dropped_total", "counter",
          "EVE records not queued for Redis (queue full)", at(vr, "dropped"));
    w.one("sluice_eve_redis_failed_total", "counter", "EVE records Redis did not take",
          at(vr, "failed"));
    w.one("sluice_up_seconds", "gauge", "Seconds since the workers started", at(s, "elapsed_s"));
    return w.take();
}

}  // namespace sluice
