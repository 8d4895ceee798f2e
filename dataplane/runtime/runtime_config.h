// Configuration of the sluice-dataplane process: YAML file plus command-line overrides.
// Everything is validated before the EAL starts or a port is touched; errors say
// "FILE:LINE:COL: what" (or "--flag: what").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "account/asn_table.h"
#include "account/policy.h"
#include "control/protocol/access.h"
#include "control/protocol/listener.h"
#include "engine/engine_config.h"
#include "fleet/eve_redis_options.h"
#include "fleet/fleet_options.h"
#include "rules/bundle_signature.h"
#include "rules/rule_set.h"

namespace sluice {

struct PortSpec {
    std::string name;    // how the config refers to it
    std::string device;  // PCI address or vdev string, e.g. net_af_packet0,iface=veth1
};

enum class RunMode : uint8_t { Offline, Inline, Monitor };
// verify: every packet's checksums (or the NIC's verdict); ignore: none; auto (offline
// default): verify unless the capture's first packets show offloaded, unset checksums (a
// capture of the sending host), as Suricata's pcap-file checksum-checks: auto does.
enum class ChecksumMode : uint8_t { Verify, Ignore, Auto };
std::optional<ChecksumMode> checksum_mode_from(std::string_view s);
std::string_view checksum_mode_name(ChecksumMode m);
// distributor: an I/O lcore receives, hashes flows to workers through rings, and transmits.
// rss: each worker owns queue i of every port (symmetric RSS on multi-queue NICs).
enum class Topology : uint8_t { Distributor, Rss };

struct RuntimeConfig {
    RunMode mode = RunMode::Offline;
    Topology topology = Topology::Distributor;
    std::vector<PortSpec> ports;
    std::vector<std::pair<std::string, std::string>> pairs;  // inline A <-> B
    std::vector<std::string> monitor;                        // receive-only ports
    unsigned workers = 1;
    std::string lcores;  // EAL --lcores mapping; default: all lcores spread over allowed CPUs
    std::vector<std::string> eal_args;

    unsigned mbufs = 8191;
    unsigned mbuf_cache = 256;
    unsigned mbuf_data_room = 2048;
    unsigned burst = 32;
    unsigned ring_size = 4096;
    unsigned rx_desc = 1024;
    unsigned tx_desc = 1024;
    unsigned idle_backoff_us = 0;  // sleep this long after consecutive empty polls
    unsigned idle_polls = 64;      // empty polls before backing off
    double duration_s = 0;         // live mode: stop after this long (0: until signalled)

    EngineConfig engine;
    ChecksumMode checksums = ChecksumMode::Auto;
    // Given in the config (else: drop inline, alert elsewhere): http.cap_action,
    // tls.reclaim_action, http.reclaim_action.
    bool cap_action_set = false;
    bool reclaim_action_set = false;
    bool http_reclaim_action_set = false;
    bool h2_abuse_action_set = false;
    bool quic_action_set = false;
    bool flow_hash_key_set =
        false;  // flow.hash_key given: live runs keep it instead of a random one

    // Offline mode
    std::string pcap_in;
    std::string pcap_out;
    std::string eve_path;
    unsigned stats_interval_s = 0;  // live: EVE stats record period (0: only at exit)
    std::string summary_json;       // also write the summary as JSON here
    std::string keylog;             // NSS key log with TLS session secrets (memory only)
    std::string keylog_follow;      // live: a key log to follow as terminators append to it

    // Rules: files or directories (empty: the shipped packs), unless rules_enabled is false.
    std::vector<std::string> rule_files;
    std::string rules_bundle;           // a compiled bundle (rules/bundle.h) instead of rule files
    std::string account_secret_file;    // HMAC key for account ids (read at start, memory only)
    bool allow_default_secret = false;  // live runs refuse the public default key without it
    // Account correlation: the policy (empty path: the shipped rules/policy/default.yaml).
    bool accounts_enabled = true;
    std::string policy_path;
    std::shared_ptr<const account::Policy> policy;
    // Live inline mode: enforce the policy's rate-limit and block decisions on requests
    // (offline runs only report, so their output stays deterministic).
    bool enforce = true;
    std::string asn_table_path;
    std::string accounts_out;    // at exit: every account's standing (JSON lines)
    std::string control_socket;  // the control endpoint (Unix socket path); empty: none
    std::string metrics_listen;  // ADDR:PORT for /metrics and /health; empty: none
    // The control protocol over TCP with mutual TLS (remote sluiced/sluicectl).
    std::string control_listen, control_cert, control_key, control_ca;
    control::AccessPolicy control_access;  // roles (control.access, --control-grant)
    control::Limits control_limits;        // connections and deadlines (control.limits)
    // Public keys whose signed bundles are trusted with their prebuilt databases
    // (control.trusted_keys, --trusted-key); none: databases are always rebuilt.
    std::vector<std::string> trusted_key_files;
    std::shared_ptr<const rules::TrustedKeys> trusted_keys;
    std::string policy_sha256, policy_source;  // of the policy loaded at start
    std::string answers_path, answers_source;  // answer templates: configured, loaded from
    std::string clients_path;  // official clients' TLS stacks (empty: the shipped file)  //
                               // prefix,asn CSV for the distinct-ASN signal
    std::shared_ptr<const account::AsnTable> asn_table;
    bool rules_enabled = true;
    fleet::FleetOptions fleet;         // shared account evidence across edges (docs/fleet.md)
    fleet::EveRedisOptions eve_redis;  // EVE records also to a Redis list or stream
    // Rule files load rule by rule (a bad rule is skipped and reported) unless rules.strict.
    rules::RuleSetOptions rule_options{.skip_invalid = true};
};

// Loads and compiles cfg's rule files (or loads its bundle) into cfg.engine.rules. Returns
// the errors, one per line ("file:line:col: error: ..."), or an empty string; `note` says
// when a bundle's databases had to be compiled on this host, and which rules were skipped.
std::string load_rules(RuntimeConfig& cfg, std::string* note = nullptr);
// A live dataplane refuses to run with the public default account key unless the config says
// so (accounts.allow_default_secret); otherwise (offline, or allowed) a warning on stderr.
std::string check_default_secret(const RuntimeConfig& cfg, bool live);
// Reads cfg.trusted_key_files into cfg.trusted_keys; the error names the file.
std::string load_trusted_keys(RuntimeConfig& cfg);
// Loads the answer templates (answers.templates, else answers.yaml next to the policy, else
// the shipped rules/policy/answers.yaml) into cfg.engine.answers. Error message or "".
std::string load_answers(RuntimeConfig& cfg);
// Loads cfg.policy_path (or the shipped policy) into cfg.policy. Error message or "".
std::string load_policy(RuntimeConfig& cfg);
// Reads cfg.account_secret_file into cfg.engine.accounts.secret. Error message or "".
std::string load_account_secret(RuntimeConfig& cfg);

// Loads `path` into cfg (fields not present keep their defaults). Returns an error message
// ("path:line:col: ...") or an empty string.
std::string load_config_file(const std::string& path, RuntimeConfig& cfg);
// Cross-field checks after file and flags are merged.
std::string validate_config(const RuntimeConfig& cfg);

}  // namespace sluice
