#include "generator.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "account/identity.h"
#include "common/digest.h"
#include "det_random.h"
#include "h2_session.h"
#include "tcp_conn.h"
#include "tls_pair.h"

namespace sluice::synth {

namespace {

using Rng = std::mt19937_64;
constexpr uint64_t kEpochNs = 1'767'225'600ull * 1'000'000'000ull;  // 2026-01-01T00:00:00Z

double uniform(Rng& r) {
    return std::uniform_real_distribution<double>(0, 1)(r);
}
uint64_t below(Rng& r, uint64_t n) {
    return n == 0 ? 0 : r() % n;
}

std::string random_token(Rng& r, size_t n) {
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[below(r, 62)]);
    return s;
}

// The dataplane's account id: HMAC-SHA256 under the account secret, first 16 hex.
std::string account_id(const HmacSha256& mac, const std::string& credential) {
    const auto m = mac.mac(as_bytes(credential));
    char hex[16];
    to_hex(std::span<const uint8_t>(m.data(), 8), hex);
    return std::string(hex, 16);
}

// The dataplane's masked hint (account/identity.h), so truth and EVE agree.
std::string key_hint(const std::string& key) {
    char buf[48];
    return std::string(buf, account::make_hint(key, buf));
}

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return IpAddress::v4(std::array<uint8_t, 4>{a, b, c, d});
}

struct Account {
    AccountClass cls;
    uint32_t index = 0;
    uint32_t cluster = 0;
    std::string key;  // synthetic credential: in the traffic only, never in truth or logs
    std::string id;   // sha256(key) first 16 hex
    std::string hint;
    const TlsProfile* profile = nullptr;
    std::string ua;
    bool openai = false;  // speaks the OpenAI-compatible API
    // Addresses it sends from; cluster pools are shared, not copied per account.
    std::shared_ptr<const std::vector<IpAddress>> ips;
    Timing timing = Timing::Diurnal;
    uint32_t sessions = 1, requests_per_session = 1;
};

struct SessionEvent {
    uint64_t ns;
    uint32_t account;
    uint32_t ip;  // index into the account's addresses
};

const char* kBenignPrompts[] = {
    "Write a Python function that merges two sorted lists and explain its complexity.",
    "Summarise these meeting notes into action items for each attendee: {slot}",
    "Translate into German, keeping the formal tone: {slot}",
    "Review this SQL query for performance problems and suggest indexes: SELECT * FROM orders "
    "WHERE customer_id = {n}",
    "Draft a product description for a waterproof hiking backpack of {n} litres.",
    "Explain the difference between TCP Reno and CUBIC congestion control.",
    "What are good first steps to learn Rust coming from Go?",
    "Give me three name ideas for a bakery in {city}.",
    "Fix the bug in this JavaScript: const total = items.reduce((a, b) => a + b.price);",
    "Explain step by step how to compute the derivative of x^2 sin x.",
    "Plan a three-day trip to {city} on a budget.",
    "Rewrite this email to sound friendlier: {slot}",
};
const char* kSlots[] = {"the quarterly numbers are late again", "we moved the launch to May",
                        "please send the signed contract by Friday",
                        "the build fails on ARM runners", "customer churn rose 3% last month"};
const char* kCities[] = {"Lisbon", "Osaka", "Nairobi", "Montreal", "Krakow", "Lima"};
const char* kCiPrompts =
    "Review this diff and list any bugs:\n--- a/service.go\n+++ b/service.go\n"
    "@@ -{n},7 +{n},9 @@\n+ if err != nil {\n+   return nil\n+ }";
const char* kWords[] = {"the",    "model",    "answer",  "data",    "system", "value", "step",
                        "result", "function", "request", "because", "then",   "which", "returns",
                        "first",  "list",     "should",  "each",    "time",   "case"};

std::string fill(std::string t, Rng& r) {
    auto sub = [&](const std::string& key, const std::string& val) {
        for (size_t p; (p = t.find(key)) != std::string::npos;) t.replace(p, key.size(), val);
    };
    sub("{slot}", kSlots[below(r, 5)]);
    sub("{city}", kCities[below(r, 6)]);
    sub("{n}", std::to_string(10 + below(r, 990)));
    return t;
}

std::string words(Rng& r, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i) s.push_back(' ');
        s += kWords[below(r, 20)];
    }
    return s;
}

// One request of an account: the HTTP bytes, what it is, and what the packs should say.
struct Request {
    std::string host;  // api or console
    std::string path;
    std::string model;
    bool stream = false;
    std::string http;
    std::vector<uint32_t> expected_sids;
    std::string kind;
    size_t prompt_words = 0;
    std::string identity;  // what the dataplane identifies the request by (default: the key)
};

std::string header_block(const std::vector<std::pair<std::string, std::string>>& h) {
    std::string s;
    for (const auto& [k, v] : h) s += k + ": " + v + "\r\n";
    return s;
}

Request make_request(const Account& a, uint32_t seq_in_session, Rng& r) {
    Request q;
    q.host = "api.example.com";
    std::vector<std::pair<std::string, std::string>> h;
    std::string prompt, system;
    std::string auth_header = "x-api-key", auth_value = a.key;
    q.model = (below(r, 3) == 0) ? "claude-opus-4" : "claude-sonnet-4-5";
    switch (a.cls) {
        case AccountClass::Hydra: {
            const int t = static_cast<int>(below(r, 4));
            const std::string slot = words(r, 30 + below(r, 40));
            if (t == 0) {
                prompt = "Here is a completed response: " + slot +
                         ". Imagine and articulate the internal reasoning behind the completed "
                         "response and write it out step by step.";
                q.expected_sids = {2100001};
                q.kind = "reasoning_trace";
            } else if (t == 1) {
                prompt =
                    "Using the rubric below, score the candidate response from 1 to 10.\n"
                    "Rubric: correctness, depth, clarity.\nResponse: " +
                    slot;
                q.expected_sids = {2100003};
                q.kind = "rubric_grading";
            } else if (t == 2) {
                char id[16];
                std::snprintf(id, sizeof id, "%06u", static_cast<unsigned>(below(r, 1000000)));
                prompt = std::string("Task ID: ") + id +
                         "\nDomain: algebra\nSolve the problem and "
                         "answer in JSON with keys reasoning and answer.\nProblem: " +
                         slot;
                q.expected_sids = {2100005};
                q.kind = "capability_sweep";
            } else {
                prompt =
                    "Rewrite the following answer as a censorship-safe alternative that "
                    "keeps every fact: " +
                    slot;
                q.expected_sids = {2100004};
                q.kind = "censorship_safe";
            }
            q.model = "claude-opus-4";
            break;
        }
        case AccountClass::Reseller:
            prompt = fill(kBenignPrompts[below(r, 12)], r);
            if (a.key.starts_with("sk-ant-oat")) {
                auth_header = "Authorization";
                auth_value = "Bearer " + a.key;
                q.expected_sids = {2200001};
                q.kind = "resold_subscription";
            } else {
                q.expected_sids = {2200002};
                q.kind = "spoofed_cli";
            }
            break;
        case AccountClass::Farm: {
            q.host = "console.example.com";
            if (seq_in_session == 0) {
                const std::string body = R"({"email":")" + random_token(r, 8) +
                                         R"(@mailinator.com","password":")" + random_token(r, 12) +
                                         R"(","name":"user"})";
                q.path = "/api/signup";
                q.kind = "signup";
                q.identity = "mailinator.com";  // signups are accounted to the email domain
                q.expected_sids = {2300001, 2300003};
                h = {{"Host", q.host},
                     {"User-Agent", a.ua},
                     {"Content-Type", "application/json"},
                     {"Content-Length", std::to_string(body.size())}};
                q.http = "POST " + q.path + " HTTP/1.1\r\n" + header_block(h) + "\r\n" + body;
            } else {
                const std::string body =
                    R"({"name":"key-)" + std::to_string(below(r, 10000)) + "\"}";
                q.path = "/api/organizations/org_" + a.id.substr(0, 8) + "/api_keys";
                q.kind = "key_creation";
                q.expected_sids = {2300002};
                h = {{"Host", q.host},
                     {"User-Agent", "python-requests/2.31.0"},
                     {"Content-Type", "application/json"},
                     {"Cookie", "sessionKey=" + a.key},
                     {"Content-Length", std::to_string(body.size())}};
                q.http = "POST " + q.path + " HTTP/1.1\r\n" + header_block(h) + "\r\n" + body;
            }
            q.model.clear();
            return q;
        }
        case AccountClass::CiHeavy:
            prompt = fill(kCiPrompts, r);
            q.kind = "ci_review";
            break;
        default:
            prompt = fill(kBenignPrompts[below(r, 12)], r);
            q.kind = "chat";
            if (below(r, 4) == 0) system = "You are a concise assistant.";
            break;
    }
    q.prompt_words = static_cast<size_t>(std::count(prompt.begin(), prompt.end(), ' ')) + 1;
    q.stream = below(r, 2) == 0;
    nlohmann::json body;
    if (a.openai) {
        q.path = "/v1/chat/completions";
        q.model = "gpt-4o-mini";
        body = {{"model", q.model}, {"messages", nlohmann::json::array()}};
        if (!system.empty()) body["messages"].push_back({{"role", "system"}, {"content", system}});
        body["messages"].push_back({{"role", "user"}, {"content", prompt}});
        q.stream = false;
        auth_header = "Authorization";
        auth_value = "Bearer " + a.key;
    } else {
        q.path = "/v1/messages";
        body = {{"model", q.model}, {"max_tokens", 1024 + 1024 * below(r, 4)}};
        if (!system.empty()) body["system"] = system;
        body["messages"] = {{{"role", "user"}, {"content", prompt}}};
        if (q.stream) body["stream"] = true;
    }
    const std::string b = body.dump();
    // Header order differs by client, as real stacks do.
    if (a.profile->name == "curl") {
        h = {{"Host", q.host},
             {"User-Agent", a.ua},
             {"Accept", "*/*"},
             {auth_header, auth_value},
             {"anthropic-version", "2023-06-01"},
             {"Content-Type", "application/json"},
             {"Content-Length", std::to_string(b.size())}};
    } else {
        h = {{"Host", q.host},
             {"Accept-Encoding", "gzip, deflate"},
             {"Connection", "keep-alive"},
             {"Accept", "application/json"},
             {"Content-Type", "application/json"},
             {"User-Agent", a.ua},
             {auth_header, auth_value},
             {"anthropic-version", "2023-06-01"},
             {"Content-Length", std::to_string(b.size())}};
        if (a.cls == AccountClass::Reseller && !a.key.starts_with("sk-ant-oat"))
            h.insert(h.end() - 1, {"x-app", "cli"});
    }
    q.http = "POST " + q.path + " HTTP/1.1\r\n" + header_block(h) + "\r\n" + b;
    return q;
}

std::string make_response(const Request& q, Rng& r) {
    if (q.model.empty()) {
        const std::string body =
            q.kind == "signup" ? R"({"ok":true,"account_id":"acct_)" + random_token(r, 12) + "\"}"
                               : R"({"id":"key_)" + random_token(r, 12) + "\"}";
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    const size_t out_words = 80 + below(r, 500);
    const size_t in_tokens = q.prompt_words * 4 / 3 + 8;
    if (q.stream) {
        std::string sse =
            "event: message_start\ndata: " +
            nlohmann::json{{"type", "message_start"},
                           {"message",
                            {{"id", "msg_" + random_token(r, 20)},
                             {"model", q.model},
                             {"usage", {{"input_tokens", in_tokens}, {"output_tokens", 1}}}}}}
                .dump() +
            "\n\n";
        for (size_t done = 0; done < out_words; done += 12)
            sse += "event: content_block_delta\ndata: " +
                   nlohmann::json{{"type", "content_block_delta"},
                                  {"index", 0},
                                  {"delta", {{"type", "text_delta"}, {"text", words(r, 12) + " "}}}}
                       .dump() +
                   "\n\n";
        sse += "event: message_delta\ndata: " +
               nlohmann::json{{"type", "message_delta"},
                              {"delta", {{"stop_reason", "end_turn"}}},
                              {"usage", {{"output_tokens", out_words * 4 / 3}}}}
                   .dump() +
               "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        char len[16];
        std::snprintf(len, sizeof len, "%zx", sse.size());
        return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" +
               std::string(len) + "\r\n" + sse + "\r\n0\r\n\r\n";
    }
    nlohmann::json body;
    if (q.path == "/v1/chat/completions") {
        body = {{"id", "chatcmpl-" + random_token(r, 20)},
                {"object", "chat.completion"},
                {"model", q.model},
                {"choices",
                 {{{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", words(r, out_words)}}},
                   {"finish_reason", "stop"}}}},
                {"usage",
                 {{"prompt_tokens", in_tokens},
                  {"completion_tokens", out_words * 4 / 3},
                  {"total_tokens", in_tokens + out_words * 4 / 3}}}};
    } else {
        body = {{"id", "msg_" + random_token(r, 20)},
                {"type", "message"},
                {"role", "assistant"},
                {"model", q.model},
                {"content", {{{"type", "text"}, {"text", words(r, out_words)}}}},
                {"stop_reason", "end_turn"},
                {"usage", {{"input_tokens", in_tokens}, {"output_tokens", out_words * 4 / 3}}}};
    }
    const std::string b = body.dump();
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(b.size()) + "\r\n\r\n" + b;
}

// Address pools (documentation and benchmarking ranges, never routable targets).
struct Pools {
    uint32_t next_customer = 0;
    IpAddress customer() {
        const uint32_t n = next_customer++;
        return v4(198, 18, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n & 0xff));
    }
};

// Residential-proxy style addresses: spread over many /24s of 100.64.0.0/10.
IpAddress proxy_ip(Rng& r) {
    return v4(100, static_cast<uint8_t>(64 + below(r, 64)), static_cast<uint8_t>(below(r, 256)),
              static_cast<uint8_t>(1 + below(r, 254)));
}

std::vector<uint64_t> session_times(const Account& a, double duration_s, Rng& r,
                                    const std::vector<uint64_t>& cluster_ticks) {
    std::vector<uint64_t> t;
    const double d = duration_s * 1e9;
    switch (a.timing) {
        case Timing::Diurnal:
            // Density 1 + 0.8 sin(2 pi x): the scenario spans one compressed "day".
            while (t.size() < a.sessions) {
                const double x = uniform(r);
                if (uniform(r) * 1.8 <= 1 + 0.8 * std::sin(2 * M_PI * x))
                    t.push_back(static_cast<uint64_t>(x * d));
            }
            break;
        case Timing::Bursty: {
            const double center = uniform(r) * 0.8 + 0.1;
            for (uint32_t i = 0; i < a.sessions; ++i)
                t.push_back(static_cast<uint64_t>(
                    std::clamp(center + (uniform(r) - 0.5) * 0.05, 0.0, 1.0) * d));
            break;
        }
        case Timing::Synchronized:
            // Accounts fire in groups of 25 on the same ticks, within 300 ms of each other.
            for (uint32_t i = 0; i < a.sessions; ++i)
                t.push_back(cluster_ticks[((a.index / 25) * 8 + i) % cluster_ticks.size()] +
                            below(r, 300'000'000));
            break;
        case Timing::Steady:
            for (uint32_t i = 0; i < a.sessions; ++i)
                t.push_back(
                    static_cast<uint64_t>((i + 0.5 + (uniform(r) - 0.5) * 0.2) / a.sessions * d));
            break;
    }
    return t;
}

}  // namespace

bool generate(const SynthOptions& opts, SynthStats& stats, std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(opts.out_dir, ec);
    if (ec) {
        error = opts.out_dir + ": " + ec.message();
        return false;
    }
    DeterministicRandom det(opts.seed);
    const HmacSha256 mac(as_bytes(opts.account_secret));
    Rng rng(opts.seed);
    PacketQueue pcap(opts.out_dir + "/traffic.pcap");
    if (!pcap.ok()) {
        error = pcap.error();
        return false;
    }
    std::ofstream truth(opts.out_dir + "/truth.jsonl");
    std::ofstream keylog_file(opts.out_dir + "/keylog.txt");
    std::string keylog;

    const IpAddress api = v4(10, 0, 0, 2), console = v4(10, 0, 0, 3);
    SslCtxPtr api_ctx, console_ctx;
    std::map<std::string, SslCtxPtr> client_ctx;
    if (!opts.plaintext) {
        api_ctx = make_server_ctx("api.example.com", opts.http2);
        console_ctx = make_server_ctx("console.example.com", opts.http2);
        for (const TlsProfile& p : tls_profiles()) client_ctx[p.name] = make_client_ctx(p, &keylog);
    }

    // Accounts.
    std::vector<Account> accounts;
    Pools pools;
    uint32_t cluster_id = 0;
    const IpAddress office = v4(198, 19, 1, 1);
    for (const Population& p : opts.scenario.populations) {
        // Shared infrastructure per cluster: proxy pools and relay addresses.
        std::vector<std::shared_ptr<const std::vector<IpAddress>>> cluster_ips;
        for (uint32_t c = 0; c < p.clusters; ++c) {
            auto ips = std::make_shared<std::vector<IpAddress>>();
            const uint32_t n = p.ips ? p.ips : 8;
            for (uint32_t i = 0; i < n; ++i) ips->push_back(proxy_ip(rng));
            cluster_ips.push_back(std::move(ips));
        }
        auto one = [](IpAddress ip) {
            return std::make_shared<const std::vector<IpAddress>>(1, ip);
        };
        for (uint32_t i = 0; i < p.accounts; ++i) {
            Account a;
            a.cls = p.cls;
            a.index = static_cast<uint32_t>(accounts.size());
            a.timing = p.timing;
            a.requests_per_session = p.requests_per_session;
            const double s = p.sessions_per_account * (0.75 + 0.5 * uniform(rng));
            a.sessions = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(s)));
            a.cluster = is_attack(p.cls) ? cluster_id + i % p.clusters : 0;
            a.key = "sk-ant-api03-" + random_token(rng, 40) + "-" + random_token(rng, 8) + "AA";
            const char* profile = "python";
            a.ua = "Anthropic/Python 0.40.0";
            switch (p.cls) {
                case AccountClass::Benign:
                    if (below(rng, 4) == 0) {
                        a.openai = true;
                        a.key = "sk-proj-" + random_token(rng, 48);
                        a.ua = "OpenAI/Python 1.54.0";
                    } else if (below(rng, 5) == 0) {
                        profile = "curl";
                        a.ua = "curl/7.88.1";
                    }
                    a.ips = one(pools.customer());
                    break;
                case AccountClass::OfficeNat:
                    a.ips = one(office);
                    break;
                case AccountClass::CiHeavy:
                    a.ua = "Anthropic/Python 0.40.0 (ci)";
                    a.ips = one(pools.customer());
                    break;
                case AccountClass::Traveller: {
                    auto v = std::make_shared<std::vector<IpAddress>>();
                    for (uint32_t k = 0; k < std::max<uint32_t>(2, p.ips); ++k)
                        v->push_back(v4(198, 19, static_cast<uint8_t>(10 + k), 7));
                    a.ips = std::move(v);
                } break;
                case AccountClass::Enterprise:
                    a.ips = one(v4(198, 19, 2, static_cast<uint8_t>(1 + below(rng, 250))));
                    break;
                case AccountClass::Hydra:
                    profile = below(rng, 2) ? "python" : "go";
                    a.ips = cluster_ips[i % p.clusters];
                    break;
                case AccountClass::Reseller:
                    profile = "go";
                    if (i % 2 == 0) {
                        a.key = "sk-ant-oat01-" + random_token(rng, 44) + "AA";
                        a.ua = "python-requests/2.31.0";
                    } else {
                        a.ua = "claude-cli/2.0.14 (external, cli)";
                    }
                    a.ips = cluster_ips[i % p.clusters];
                    break;
                case AccountClass::Farm:
                    profile = "browser";
                    a.key = "sk-ant-sid01-" + random_token(rng, 40);
                    a.ua =
                        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "HeadlessChrome/120.0.0.0 Safari/537.36";
                    a.ips = cluster_ips[i % p.clusters];
                    break;
            }
            if (!p.profile.empty()) profile = p.profile.c_str();
            a.profile = find_profile(profile);
            if (a.profile == nullptr) {
                error = "unknown TLS profile '" + std::string(profile) + "'";
                return false;
            }
            a.id = account_id(mac, a.key);
            a.hint = key_hint(a.key);
            accounts.push_back(std::move(a));
        }
        cluster_id += p.clusters;
    }
    for (const Account& a : accounts)
        truth << nlohmann::json{{"type", "account"},
                                {"account", a.id},
                                {"key_hint", a.hint},
                                {"class", class_name(a.cls)},
                                {"attack", is_attack(a.cls)},
                                {"cluster", a.cluster},
                                {"tls_profile", a.profile->name},
                                {"user_agent", a.ua}}
                     .dump()
              << "\n";
    stats.accounts = accounts.size();

    // Schedule: synchronized clusters share tick times.
    std::map<uint32_t, std::vector<uint64_t>> ticks;
    std::vector<SessionEvent> events;
    const double d = opts.scenario.duration_s;
    // A cluster fires on shared ticks; larger clusters get more ticks so that synchronized
    // sessions (and the frames waiting to be written) stay bounded as the scenario scales.
    std::map<uint32_t, uint32_t> cluster_size;
    for (const Account& a : accounts) ++cluster_size[a.cluster];
    for (const Account& a : accounts) {
        auto& t = ticks[a.cluster];
        const uint32_t n_ticks = 8 * std::max<uint32_t>(1, cluster_size[a.cluster] / 25);
        if (t.empty())
            for (uint32_t k = 0; k < n_ticks; ++k)
                t.push_back(static_cast<uint64_t>((0.05 + 0.9 * uniform(rng)) * d * 1e9));
        for (uint64_t ns : session_times(a, d, rng, t))
            events.push_back({ns, a.index, static_cast<uint32_t>(below(rng, a.ips->size()))});
    }
    std::sort(events.begin(), events.end(), [](const SessionEvent& x, const SessionEvent& y) {
        return x.ns != y.ns ? x.ns < y.ns : x.account < y.account;
    });

    std::map<std::array<uint8_t, 16>, uint16_t> next_port;
    size_t done = 0;
    int last_pct = -1;
    for (size_t ei = 0; ei < events.size(); ++ei) {
        const SessionEvent& ev = events[ei];
        const Account& a = accounts[ev.account];
        const uint64_t start = kEpochNs + ev.ns;
        pcap.flush_before(start);
        const bool to_console = a.cls == AccountClass::Farm;
        ConnSpec cs;
        cs.client = (*a.ips)[ev.ip];
        cs.server = to_console ? console : api;
        uint16_t& port = next_port[cs.client.bytes];
        if (port < 32768) port = static_cast<uint16_t>(32768 + below(rng, 20000));
        cs.cport = port++;
        cs.sport = opts.plaintext ? 80 : 443;
        cs.client_isn = static_cast<uint32_t>(rng());
        cs.server_isn = static_cast<uint32_t>(rng());
        cs.rtt_ns = 5'000'000 + below(rng, 80'000'000);
        TcpConn conn(cs, start, pcap);
        conn.open();
        std::unique_ptr<TlsPair> tls;
        auto emit = [&](Side from, std::string_view bytes) {
            conn.send(from == Side::Client, bytes);
        };
        if (!opts.plaintext) {
            tls = std::make_unique<TlsPair>(client_ctx[a.profile->name].get(),
                                            (to_console ? console_ctx : api_ctx).get(),
                                            to_console ? "console.example.com" : "api.example.com");
            if (!tls->handshake(emit)) {
                error = "TLS handshake failed (profile " + a.profile->name + "): " + tls->error();
                return false;
            }
        }
        auto send = [&](Side from, const std::string& bytes) {
            if (tls)
                tls->write(from, bytes, emit);
            else
                conn.send(from == Side::Client, bytes);
        };
        // HTTP/2 for the stacks that offer it (the same requests, framed as h2).
        std::unique_ptr<H2Session> h2;
        if (opts.http2 && offers_h2(a.profile->alpn)) {
            h2 = std::make_unique<H2Session>(a.profile->name, tls != nullptr);
            send(Side::Client, h2->client_preface());
            send(Side::Server, h2->server_preface());
            send(Side::Client, H2Session::settings_ack());
            ++stats.http2_sessions;
        }
        for (uint32_t k = 0; k < a.requests_per_session; ++k) {
            const Request q = make_request(a, k, rng);
            const uint64_t req_ns = conn.now();
            send(Side::Client, h2 ? h2->request(q.http) : q.http);
            conn.wait(20'000'000 + below(rng, 200'000'000));  // the model thinks
            const std::string resp = make_response(q, rng);
            send(Side::Server, h2 ? h2->response(resp) : resp);
            nlohmann::json tr{
                {"type", "request"},
                {"ts_ns", req_ns},
                {"account", a.id},
                {"class", class_name(a.cls)},
                {"kind", q.kind},
                {"flow",
                 {{"src_ip", cs.client.to_string()},
                  {"src_port", cs.cport},
                  {"dest_ip", cs.server.to_string()},
                  {"dest_port", cs.sport}}},
                {"host", q.host},
                {"path", q.path},
                {"expected_sids", q.expected_sids},
                {"identity", account_id(mac, q.identity.empty() ? a.key : q.identity)},
                {"protocol", h2 ? "HTTP/2" : "HTTP/1.1"}};
            if (!q.model.empty()) tr["model"] = q.model;
            truth << tr.dump() << "\n";
            ++stats.requests;
            if (is_attack(a.cls)) ++stats.attack_requests;
            conn.wait(1'000'000);
        }
        if (tls) tls->close(emit);
        conn.close();
        ++stats.sessions;
        if (!keylog.empty()) {
            keylog_file << keylog;
            keylog.clear();
        }
        ++done;
        if (opts.progress) {
            const int pct = static_cast<int>(done * 100 / events.size());
            if (pct != last_pct) {
                last_pct = pct;
                std::fprintf(stderr,
                             "\rsluice-synth: [%-50.*s] %3d%%  %zu/%zu sessions, %llu packets",
                             pct / 2, "##################################################", pct,
                             done, events.size(), (unsigned long long)pcap.written());
            }
        }
    }
    pcap.flush_all();
    if (opts.progress) std::fputc('\n', stderr);
    stats.packets = pcap.written();
    stats.bytes = pcap.bytes();
    return true;
}

}  // namespace sluice::synth
