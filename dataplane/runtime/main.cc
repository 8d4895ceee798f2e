// sluice-dataplane: the DPDK dataplane, live (inline or monitor) or offline over a capture.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "rules/bundle.h"
#include "runtime/dataplane.h"

using namespace sluice;

namespace {

void on_signal(int sig) {
    if (sig == SIGHUP)
        Dataplane::request_reopen();
    else
        Dataplane::request_stop();
}

constexpr const char* kFooter = R"(Examples:
  sluice-dataplane --pcap in.pcap --eve eve.json --pcap-out out.pcap
  sluice-dataplane --config /etc/sluice/dataplane.yaml
  sluice-dataplane --port a=net_af_packet0,iface=veth1 --port b=net_af_packet1,iface=veth2 \
      --inline a:b -- --no-huge -m 512

Offline mode needs no EAL arguments. Arguments after '--' go to the DPDK EAL unchanged.
Signals: SIGINT/SIGTERM stop cleanly, SIGHUP reopens the EVE log (rotation).
Telemetry: dpdk-telemetry.py, commands /sluice/stats and /sluice/workers.
See docs/dataplane.md.)";

}  // namespace

int main(int argc, char** argv) {
    // Split off EAL arguments after "--".
    int app_argc = argc;
    std::vector<std::string> eal;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") {
            app_argc = i;
            for (int j = i + 1; j < argc; ++j) eal.emplace_back(argv[j]);
            break;
        }
    }

    CLI::App app{"sluice-dataplane: DPDK inspection dataplane for LLM API edges"};
    app.footer(kFooter);
    std::string config_path, malformed, topology;
    std::vector<std::string> port_args, inline_args, monitor_args;
    RuntimeConfig cli;
    unsigned workers = 0, backoff = 0, flow_capacity = 0;
    bool backoff_set = false, quiet = false;
    app.add_option("--config", config_path, "YAML configuration file")->check(CLI::ExistingFile);
    app.add_option("--pcap", cli.pcap_in, "Offline mode: read this capture (pcap or pcapng)")
        ->check(CLI::ExistingFile);
    app.add_option("--pcap-out", cli.pcap_out,
                   "Offline: write what inline mode would forward, injected RSTs included");
    app.add_option("--dump-streams", cli.engine.dump_streams_dir,
                   "Offline: write reassembled TCP payload per flow direction into DIR (customer "
                   "content: never on by default)")
        ->check(CLI::ExistingDirectory);
    app.add_option("--eve", cli.eve_path, "EVE JSON log file ('-' for stdout)");
    app.add_option("--keylog", cli.keylog,
                   "NSS key log (SSLKEYLOGFILE) with TLS session secrets, to decrypt TLS; kept in "
                   "memory only")
        ->check(CLI::ExistingFile);
    app.add_option("--summary-json", cli.summary_json,
                   "Also write the run summary as JSON to FILE");
    std::string keylog_follow;
    app.add_option("--keylog-follow", keylog_follow,
                   "Live: follow a key log file as TLS terminators append to it (like tail -F); "
                   "secrets reach the workers in memory only. Inline, a request waits for its "
                   "session's secret (tls.secret_wait_ms, then tls.secret_wait_action)");
    unsigned keylog_delay = 0;
    app.add_option("--keylog-delay-packets", keylog_delay,
                   "Offline: each TLS secret becomes known N packets after its ClientHello "
                   "(simulates a terminator's export delay; ciphertext queues meanwhile)");
    app.add_option("--port", port_args, "Live: NAME=DEVICE (PCI address or vdev spec); repeatable");
    app.add_option("--inline", inline_args,
                   "Live: forward between ports A:B (both directions); repeatable");
    app.add_option("--monitor", monitor_args, "Live: receive-only port NAME; repeatable");
    app.add_option("--topology", topology,
                   "distributor (I/O lcore + rings) or rss (queue per worker)")
        ->check(CLI::IsMember({"distributor", "rss"}));
    app.add_option("--duration", cli.duration_s, "Live: stop after SECONDS")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--workers", workers, "Worker lcores")->check(CLI::Range(1, 64));
    std::string lcores;
    app.add_option("--lcores", lcores,
                   "EAL lcore map, e.g. '0@1,1@1' (default: spread over allowed CPUs)");
    unsigned mbufs = 0;
    app.add_option("--mbufs", mbufs, "Mbufs in the packet pool")->check(CLI::Range(1023, 1 << 24));
    app.add_option("--idle-backoff-us", backoff,
                   "Sleep this long when polls come back empty (share CPUs)")
        ->check(CLI::Range(0, 100000))
        ->each([&](const std::string&) { backoff_set = true; });
    app.add_option("--flow-capacity", flow_capacity, "Flows per worker")
        ->check(CLI::Range(16, 1 << 26));
    app.add_option("--malformed", malformed, "What to do with malformed packets")
        ->check(CLI::IsMember({"drop", "pass"}));
    std::string checksums, flow_hash_key;
    bool tso_lengths = false;
    app.add_option("--checksums", checksums,
                   "IP/TCP/UDP checksums: verify (a bad one is dropped inline, not inspected "
                   "offline), ignore, or auto (offline default: ignore for a capture of the "
                   "sending host, whose checksums are offloaded)")
        ->check(CLI::IsMember({"verify", "ignore", "auto"}));
    app.add_flag("--tso-lengths", tso_lengths,
                 "Offline: accept IPv4 total length / IPv6 payload length 0 (a capture taken "
                 "before TSO segmentation); live ports treat it as malformed");
    app.add_option("--flow-hash-key", flow_hash_key,
                   "Flow hash key, 32 hex digits (default: random live, fixed offline)");
    std::vector<std::string> rule_files, rule_vars;
    std::string dialect;
    bool check_rules = false, no_rules = false, strict_rules = false;
    app.add_option("--rules", rule_files,
                   "Rule file or directory of *.rules (Suricata 7 or Snort 3 dialect); "
                   "repeatable; default: the shipped packs (rules/packs)");
    app.add_flag("--no-rules", no_rules, "Inspect without rules (HTTP/TLS records only)");
    std::string write_bundle_path, bundle_path;
    app.add_option("--rules-bundle", bundle_path,
                   "Load a compiled rule bundle (from --write-bundle or the control plane) "
                   "instead of rule files; recompiled here if this host's Hyperscan cannot load "
                   "its databases")
        ->check(CLI::ExistingFile);
    app.add_option("--write-bundle", write_bundle_path,
                   "Compile the rules, write them as a bundle to FILE and exit");
    app.add_flag("--check-rules", check_rules,
                 "Validate and compile the rules, print a summary and every skipped rule or "
                 "error (file:line:col), and exit (0 all load, 1 loaded with rules skipped, 2 "
                 "rejected)");
    app.add_flag("--strict-rules", strict_rules,
                 "Reject the whole rule set if any rule is bad (default: skip bad rules, "
                 "report them and load the rest; config rules.strict)");
    app.add_option("--rule-var", rule_vars,
                   "NAME=VALUE rule variable, e.g. API_SERVERS=[10.0.0.0/8] or "
                   "API_PORTS=[443,8443] (names ending in _PORTS or _PORT are port groups); "
                   "repeatable");
    app.add_option("--dialect", dialect, "Rule dialect for every file (default: per file, auto)")
        ->check(CLI::IsMember({"auto", "suricata", "snort3"}));
    std::string account_secret_file, policy_path;
    bool no_accounts = false;
    app.add_option("--policy", policy_path,
                   "Account detection policy (YAML; default: rules/policy/default.yaml)")
        ->check(CLI::ExistingFile);
    app.add_flag("--no-accounts", no_accounts, "No account correlation (no account records)");
    std::string answers_path;
    app.add_option("--answers", answers_path,
                   "What a stopped request's client is told: answer templates (YAML; default: "
                   "answers.yaml next to the policy, else rules/policy/answers.yaml)")
        ->check(CLI::ExistingFile);
    bool no_enforce = false;
    std::string asn_table;
    app.add_flag("--no-enforce", no_enforce,
                 "Live: report account decisions without enforcing them (offline runs never "
                 "enforce)");
    std::string accounts_out, control_socket, metrics_listen;
    std::string control_listen, control_cert, control_key, control_ca;
    app.add_option("--control-listen", control_listen,
                   "Also serve the control protocol on ADDR:PORT over mutual TLS (needs "
                   "--control-cert, --control-key, --control-ca)");
    app.add_option("--control-cert", control_cert, "PEM certificate for --control-listen")
        ->check(CLI::ExistingFile);
    app.add_option("--control-key", control_key, "Its private key")->check(CLI::ExistingFile);
    app.add_option("--control-ca", control_ca, "CA that signs the clients allowed in")
        ->check(CLI::ExistingFile);
    app.add_option("--metrics", metrics_listen,
                   "Serve Prometheus /metrics and /health on ADDR:PORT (e.g. 127.0.0.1:9477; no "
                   "authentication: loopback or a management network)");
    app.add_option("--control", control_socket,
                   "Serve the control protocol on this Unix socket (sluicectl --socket; "
                   "docs/control-protocol.md)");
    bool allow_default_secret = false;
    app.add_flag("--allow-default-account-secret", allow_default_secret,
                 "Live: run with the public default account key (a lab; production sets "
                 "accounts.secret_file)");
    std::vector<std::string> trusted_keys;
    app.add_option("--trusted-key", trusted_keys,
                   "Ed25519 public key (PEM) whose signed rule bundles are trusted with their "
                   "prebuilt databases (repeatable, for rotation; adds to control.trusted_keys). "
                   "With none, bundles are recompiled from their sources")
        ->check(CLI::ExistingFile);
    std::vector<std::string> control_grants;
    app.add_option("--control-grant", control_grants,
                   "Grant a control role: ROLE=KIND:VALUE, ROLE read|operate|admin, KIND "
                   "uid|group|subject|san (repeatable; adds to control.access; root and this "
                   "process's uid are always admin on the Unix socket)");
    app.add_option("--accounts-out", accounts_out,
                   "At exit, write every account's standing (action, score, reasons, cluster, "
                   "signals) to FILE as JSON lines");
    app.add_option("--asn-table", asn_table,
                   "prefix,asn CSV for the distinct-ASN signal (docs/detection.md)")
        ->check(CLI::ExistingFile);
    app.add_option("--account-secret-file", account_secret_file,
                   "HMAC key for account ids (keyed hashes of API keys); without it a public "
                   "default key is used and the summary says so")
        ->check(CLI::ExistingFile);
    app.add_flag("--quiet", quiet, "Do not print the summary");
    try {
        app.parse(app_argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    RuntimeConfig cfg;
    if (!config_path.empty()) {
        if (std::string e = load_config_file(config_path, cfg); !e.empty()) {
            std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
            return 2;
        }
        if (cfg.mode == RunMode::Offline && !cfg.ports.empty()) cfg.mode = RunMode::Inline;
    }
    // Flags override the file.
    for (const auto& p : port_args) {
        const auto eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::fprintf(stderr, "sluice-dataplane: --port %s: expected NAME=DEVICE\n", p.c_str());
            return 2;
        }
        cfg.ports.push_back({p.substr(0, eq), p.substr(eq + 1)});
    }
    for (const auto& p : inline_args) {
        const auto colon = p.find(':');
        if (colon == std::string::npos) {
            std::fprintf(stderr, "sluice-dataplane: --inline %s: expected A:B\n", p.c_str());
            return 2;
        }
        cfg.pairs.emplace_back(p.substr(0, colon), p.substr(colon + 1));
    }
    for (const auto& m : monitor_args) cfg.monitor.push_back(m);
    if (!cfg.ports.empty() && cfg.mode == RunMode::Offline)
        cfg.mode = cfg.pairs.empty() ? RunMode::Monitor : RunMode::Inline;
    if (!cli.pcap_in.empty()) {
        if (!port_args.empty() || !inline_args.empty()) {
            std::fprintf(
                stderr,
                "sluice-dataplane: --pcap (offline) cannot be combined with --port/--inline\n");
            return 2;
        }
        cfg.mode = RunMode::Offline;
        cfg.ports.clear();
        cfg.pairs.clear();
        cfg.monitor.clear();
        cfg.pcap_in = cli.pcap_in;
    } else if (!cli.pcap_out.empty() || !cli.engine.dump_streams_dir.empty()) {
        std::fprintf(stderr, "sluice-dataplane: --pcap-out and --dump-streams need --pcap\n");
        return 2;
    }
    cfg.pcap_out = cli.pcap_out;
    if (!cli.engine.dump_streams_dir.empty())
        cfg.engine.dump_streams_dir = cli.engine.dump_streams_dir;
    if (!cli.eve_path.empty()) cfg.eve_path = cli.eve_path;
    cfg.summary_json = cli.summary_json;
    if (cli.duration_s > 0) cfg.duration_s = cli.duration_s;
    if (workers) cfg.workers = workers;
    if (!lcores.empty()) cfg.lcores = lcores;
    if (mbufs) cfg.mbufs = mbufs;
    if (backoff_set) cfg.idle_backoff_us = backoff;
    if (flow_capacity) cfg.engine.flow_capacity = flow_capacity;
    if (!malformed.empty())
        cfg.engine.malformed = malformed == "pass" ? MalformedPolicy::Pass : MalformedPolicy::Drop;
    if (!checksums.empty()) cfg.checksums = *checksum_mode_from(checksums);
    if (tso_lengths) cfg.engine.decode.tso_lengths = true;
    if (!flow_hash_key.empty()) {
        const auto k = FlowHashKey::from_hex(flow_hash_key);
        if (!k) {
            std::fprintf(stderr, "sluice-dataplane: --flow-hash-key: 32 hex digits expected\n");
            return 2;
        }
        cfg.engine.flow_hash_key = *k;
        cfg.flow_hash_key_set = true;
    }
    if (topology == "rss")
        cfg.topology = Topology::Rss;
    else if (topology == "distributor")
        cfg.topology = Topology::Distributor;
    cfg.eal_args.insert(cfg.eal_args.end(), eal.begin(), eal.end());
    if (!cli.keylog.empty()) cfg.keylog = cli.keylog;
    if (!keylog_follow.empty()) {
        if (!cli.pcap_in.empty()) {
            std::fprintf(
                stderr, "sluice-dataplane: --keylog-follow is for live mode (offline: --keylog)\n");
            return 2;
        }
        cfg.keylog_follow = keylog_follow;
        cfg.engine.tls.wait_for_secrets = true;  // secrets are exported after the handshake
    }
    if (keylog_delay > 0) {
        cfg.engine.tls.secret_delay_packets = keylog_delay;
        cfg.engine.tls.wait_for_secrets = true;
    }
    if (!cfg.keylog.empty()) {
        auto store = std::make_shared<tls::SecretStore>();
        size_t added = 0;
        if (std::string e = store->load_file(cfg.keylog, added); !e.empty()) {
            std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
            return 2;
        }
        cfg.engine.tls_secrets = std::move(store);
    }
    if (!rule_files.empty()) cfg.rule_files = rule_files;
    if (strict_rules) cfg.rule_options.skip_invalid = false;
    if (no_rules) cfg.rules_enabled = false;
    if (dialect == "suricata") cfg.rule_options.dialect = rules::Dialect::Suricata;
    if (dialect == "snort3") cfg.rule_options.dialect = rules::Dialect::Snort3;
    for (const auto& v : rule_vars) {
        const auto eq = v.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::fprintf(stderr, "sluice-dataplane: --rule-var %s: expected NAME=VALUE\n",
                         v.c_str());
            return 2;
        }
        const std::string name = v.substr(0, eq), value = v.substr(eq + 1);
        const bool port = name.ends_with("_PORTS") || name.ends_with("_PORT");
        (port ? cfg.rule_options.vars.ports : cfg.rule_options.vars.addresses)[name] = value;
    }
    if (!account_secret_file.empty()) cfg.account_secret_file = account_secret_file;
    if (std::string e = load_account_secret(cfg); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }
    if (std::string e = fleet::load_password(cfg.fleet); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }
    if (auto& r = cfg.eve_redis; r.enabled) {
        if (r.seeds.empty()) {  // the fleet's Redis, with its user
            r.seeds = cfg.fleet.seeds;
            if (r.user.empty() && r.password_file.empty()) {
                r.user = cfg.fleet.user;
                r.password_file = cfg.fleet.password_file;
            }
        }
        if (std::string e = fleet::read_credentials(r.password_file, r.user, r.auth); !e.empty()) {
            std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
            return 2;
        }
    }
    if (!policy_path.empty()) cfg.policy_path = policy_path;
    if (no_accounts) cfg.accounts_enabled = false;
    if (allow_default_secret) cfg.allow_default_secret = true;
    if (no_enforce) cfg.enforce = false;
    if (!asn_table.empty()) cfg.asn_table_path = asn_table;
    if (!accounts_out.empty()) cfg.accounts_out = accounts_out;
    if (!control_socket.empty()) cfg.control_socket = control_socket;
    if (!metrics_listen.empty()) cfg.metrics_listen = metrics_listen;
    if (!control_listen.empty()) cfg.control_listen = control_listen;
    if (!control_cert.empty()) cfg.control_cert = control_cert;
    if (!control_key.empty()) cfg.control_key = control_key;
    if (!control_ca.empty()) cfg.control_ca = control_ca;
    for (const std::string& k : trusted_keys) cfg.trusted_key_files.push_back(k);
    if (std::string e = load_trusted_keys(cfg); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }
    for (const std::string& g : control_grants) {
        std::string e;
        if (!cfg.control_access.add_flag(g, e)) {
            std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
            return 2;
        }
    }
    if (std::string e = load_policy(cfg); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }
    if (!answers_path.empty()) cfg.answers_path = answers_path;
    if (std::string e = load_answers(cfg); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }
    if (!bundle_path.empty()) cfg.rules_bundle = bundle_path;
    if (check_rules || !write_bundle_path.empty()) cfg.rules_enabled = true;
    std::string note;
    if (std::string e = load_rules(cfg, &note); !e.empty()) {
        std::fputs(e.c_str(), stderr);
        std::fprintf(stderr, "sluice-dataplane: the rule set was rejected; nothing was loaded\n");
        return 2;
    }
    // --check-rules lists every skipped rule itself.
    if (!note.empty() && (!check_rules || !cfg.rules_bundle.empty()))
        std::fprintf(stderr, "sluice-dataplane: %s%s", note.c_str(),
                     note.back() == '\n' ? "" : "\n");
    if (!write_bundle_path.empty()) {
        const auto bytes = rules::write_bundle(*cfg.engine.rules);
        std::ofstream out(write_bundle_path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::fprintf(stderr, "sluice-dataplane: cannot write %s\n", write_bundle_path.c_str());
            return 1;
        }
        std::printf("wrote %s: %zu rules, %zu bytes\n", write_bundle_path.c_str(),
                    cfg.engine.rules->set().rules.size(), bytes.size());
        return 0;
    }
    if (check_rules) {
        const auto& st = cfg.engine.rules->stats();
        const auto& skipped = cfg.engine.rules->set().skipped;
        std::fputs(rules::skip_report(skipped).c_str(), stdout);
        std::printf(
            "%zu rules OK (%zu files, sha256 %s): %zu literal and %zu regex patterns "
            "(%zu prefiltered), %zu always-evaluated, %zu Hyperscan databases, %zu "
            "bytes, compiled in %.3f s\n",
            cfg.engine.rules->set().rules.size(), cfg.engine.rules->set().files.size(),
            cfg.engine.rules->set().digest.substr(0, 16).c_str(), st.literal_patterns,
            st.regex_patterns, st.prefilter_regexes, st.always_candidates, st.databases,
            st.database_bytes, st.compile_seconds);
        return skipped.empty() ? 0 : 1;
    }
    if (std::string e = validate_config(cfg); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }

    // About to run: a live dataplane does not run on the public default account key.
    if (std::string e = check_default_secret(cfg, cfg.pcap_in.empty()); !e.empty()) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", e.c_str());
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a control or metrics client that hangs up is its loss
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_signal);

    Dataplane dp(std::move(cfg));
    if (!dp.init(1, argv)) {
        std::fprintf(stderr, "sluice-dataplane: %s\n", dp.error().c_str());
        return 1;
    }
    const int rc = dp.run();
    if (rc != 0) std::fprintf(stderr, "sluice-dataplane: %s\n", dp.error().c_str());
    if (!quiet) std::fputs(dp.summary_text().c_str(), stdout);
    if (!cli.summary_json.empty()) {
        std::ofstream out(cli.summary_json);
        out << dp.summary_json() << "\n";
    }
    return rc;
}
