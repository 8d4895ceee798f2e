// sluice-synth: writes labelled synthetic LLM-API traffic (real TCP, real TLS) for tests,
// benchmarks and demos.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "generator.h"
#include "tls_pair.h"

using namespace sluice::synth;

int main(int argc, char** argv) {
    CLI::App app{"sluice-synth: synthesize labelled LLM API traffic (pcap, TLS key log, truth)"};
    std::string scenario = "quickstart", out_dir;
    uint64_t seed = 1;
    double scale = 1.0;
    bool plaintext = false, list = false, quiet = false, http1_only = false;
    app.add_option("--scenario", scenario,
                   "Built-in scenario (quickstart, benign, hydra, reseller, farm, mixed) or a "
                   "YAML scenario file");
    app.add_option("--seed", seed, "Seed: the same seed gives the same bytes");
    app.add_option("--scale", scale, "Multiply accounts and duration (e.g. 0.2, 10, 1000)")
        ->check(CLI::Range(0.001, 1e6));
    app.add_flag("--plaintext", plaintext,
                 "No TLS, port 80 (traffic behind a TLS terminator); h2-capable stacks use h2c "
                 "with prior knowledge");
    app.add_flag("--http1-only", http1_only,
                 "The API speaks HTTP/1.1 only (by default clients whose stack offers h2 - curl, "
                 "browsers - speak HTTP/2)");
    app.add_option("--out", out_dir, "Output directory: traffic.pcap, keylog.txt, truth.jsonl");
    app.add_flag("--list", list, "List the built-in scenarios and TLS profiles, then exit");
    app.add_flag("--quiet", quiet, "No progress bar or summary");
    std::string secret_file;
    app.add_option("--account-secret-file", secret_file,
                   "The dataplane's account secret, so truth account ids match its EVE ids "
                   "(default: the dataplane's built-in default)")
        ->check(CLI::ExistingFile);
    app.footer(
        "Examples:\n"
        "  sluice-synth --scenario mixed --seed 7 --out out/mixed\n"
        "  sluice-synth --scenario hydra --scale 50 --out /data/hydra   # millions of packets\n"
        "  sluice-synth --scenario my-scenario.yaml --plaintext --out out/custom\n"
        "See docs/synth.md.");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (list) {
        for (const auto& n : builtin_scenarios()) {
            const auto s = builtin_scenario(n);
            std::printf("scenario %-11s %s\n", n.c_str(), s->description.c_str());
        }
        for (const auto& p : tls_profiles_names()) std::printf("profile  %s\n", p.c_str());
        return 0;
    }
    if (out_dir.empty()) {
        std::fprintf(stderr, "sluice-synth: --out DIR is required\n");
        return 2;
    }
    std::optional<Scenario> sc = builtin_scenario(scenario);
    if (!sc) {
        if (access(scenario.c_str(), R_OK) != 0) {
            std::fprintf(stderr,
                         "sluice-synth: unknown scenario '%s' (built-in: quickstart, benign, "
                         "hydra, reseller, farm, mixed; or a YAML file)\n",
                         scenario.c_str());
            return 2;
        }
        std::string err;
        sc = load_scenario_file(scenario, err);
        if (!sc) {
            std::fprintf(stderr, "sluice-synth: %s\n", err.c_str());
            return 2;
        }
    }
    SynthOptions opts;
    opts.scenario = scaled(*sc, scale);
    opts.seed = seed;
    opts.plaintext = plaintext;
    opts.http2 = !http1_only;
    opts.out_dir = out_dir;
    opts.progress = !quiet && isatty(2);
    if (!secret_file.empty()) {
        std::ifstream in(secret_file, std::ios::binary);
        std::string sec((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!sec.empty() && (sec.back() == '\n' || sec.back() == '\r')) sec.pop_back();
        opts.account_secret = sec;
    }
    SynthStats st;
    std::string err;
    if (!generate(opts, st, err)) {
        std::fprintf(stderr, "sluice-synth: %s\n", err.c_str());
        return 1;
    }
    if (!quiet)
        std::printf(
            "sluice-synth: scenario %s seed %llu: %llu accounts, %llu sessions, %llu "
            "requests (%llu from attack classes), %llu sessions over HTTP/2, %llu packets, %llu "
            "bytes -> %s\n",
            opts.scenario.name.c_str(), (unsigned long long)seed, (unsigned long long)st.accounts,
            (unsigned long long)st.sessions, (unsigned long long)st.requests,
            (unsigned long long)st.attack_requests, (unsigned long long)st.http2_sessions,
            (unsigned long long)st.packets, (unsigned long long)st.bytes, out_dir.c_str());
    return 0;
}
