#include "rules/bundle.h"

#include <hs/hs.h>

#include <cstring>

namespace sluice::rules {

namespace {

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'R', 'B'};
// 2 added the set's loading mode (skip_invalid) after the carried files; 1 is still read.
constexpr uint32_t kFormat = 2;
constexpr uint32_t kFlagSkipInvalid = 1;
constexpr uint32_t kMaxCount = 1u << 20;

class Writer {
  public:
    void u32(uint32_t v) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void str(std::string_view s) {
        u32(static_cast<uint32_t>(s.size()));
        out.insert(out.end(), s.begin(), s.end());
    }
    std::vector<uint8_t> out;
};

class Reader {
  public:
    explicit Reader(std::span<const uint8_t> b) : b_(b) {}
    bool u32(uint32_t& v) {
        if (b_.size() - pos_ < 4) return fail();
        v = 0;
        for (int i = 0; i < 4; ++i) v |= uint32_t{b_[pos_ + i]} << (8 * i);
        pos_ += 4;
        return true;
    }
    bool str(std::string& s) {
        uint32_t n;
        if (!u32(n) || b_.size() - pos_ < n) return fail();
        s.assign(reinterpret_cast<const char*>(b_.data() + pos_), n);
        pos_ += n;
        return true;
    }
    bool count(uint32_t& n) { return u32(n) && (n <= kMaxCount || fail()); }
    bool done() const { return pos_ == b_.size(); }
    bool ok = true;

  private:
    bool fail() {
        ok = false;
        return false;
    }
    std::span<const uint8_t> b_;
    size_t pos_ = 0;
};

}  // namespace

std::vector<uint8_t> write_bundle(const CompiledRules& rules) {
    const RuleSet& set = rules.set();
    Writer w;
    w.out.insert(w.out.end(), kMagic, kMagic + sizeof kMagic);
    w.u32(kFormat);
    w.str(hs_version());
    w.u32(static_cast<uint32_t>(set.sources.size()));
    for (const RuleSource& s : set.sources) {
        w.str(s.name);
        w.str(s.text);
    }
    const RuleSetOptions& o = set.options;
    w.u32(static_cast<uint32_t>(o.dialect));
    w.str(o.classification_file);
    w.u32(static_cast<uint32_t>(o.vars.addresses.size()));
    for (const auto& [k, v] : o.vars.addresses) w.str(k), w.str(v);
    w.u32(static_cast<uint32_t>(o.vars.ports.size()));
    for (const auto& [k, v] : o.vars.ports) w.str(k), w.str(v);
    w.u32(static_cast<uint32_t>(o.datasets.size()));
    for (const auto& [k, d] : o.datasets) w.str(k), w.str(d.type), w.str(d.path);
    w.u32(static_cast<uint32_t>(o.files.size()));
    for (const auto& [k, v] : o.files) w.str(k), w.str(v);
    w.u32(o.skip_invalid ? kFlagSkipInvalid : 0);
    w.str(set.digest);
    const SerializedDatabases dbs = rules.serialize();
    w.u32(static_cast<uint32_t>(dbs.size()));
    for (const auto& [key, blob] : dbs) {
        w.u32(key);
        w.str(blob);
    }
    return std::move(w.out);
}

BundleLoad read_bundle(std::span<const uint8_t> bytes, DatabaseTrust trust) {
    BundleLoad out;
    auto error = [&](std::string msg) {
        out.compiled.errors.push_back({{"bundle", 0, 0}, std::move(msg)});
        return std::move(out);
    };
    if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        return error("not a sluice rule bundle (bad magic)");
    Reader r(bytes.subspan(sizeof kMagic));
    uint32_t format = 0, n = 0;
    if (!r.u32(format) || format < 1 || format > kFormat)
        return error("unsupported bundle format " + std::to_string(format));
    r.str(out.built_with);
    std::vector<RuleSource> sources;
    if (r.count(n))
        for (uint32_t i = 0; i < n && r.ok; ++i) {
            RuleSource s;
            r.str(s.name);
            r.str(s.text);
            sources.push_back(std::move(s));
        }
    RuleSetOptions o;
    o.vars.addresses.clear();
    o.vars.ports.clear();
    uint32_t dialect = 0;
    r.u32(dialect);
    if (dialect > static_cast<uint32_t>(Dialect::Snort3)) return error("bad dialect in bundle");
    o.dialect = static_cast<Dialect>(dialect);
    r.str(o.classification_file);
    std::string k, v, t;
    if (r.count(n))
        for (uint32_t i = 0; i < n && r.str(k) && r.str(v); ++i) o.vars.addresses[k] = v;
    if (r.count(n))
        for (uint32_t i = 0; i < n && r.str(k) && r.str(v); ++i) o.vars.ports[k] = v;
    if (r.count(n))
        for (uint32_t i = 0; i < n && r.str(k) && r.str(t) && r.str(v); ++i) o.datasets[k] = {t, v};
    if (r.count(n))
        for (uint32_t i = 0; i < n && r.str(k) && r.str(v); ++i) o.files[k] = v;
    if (format >= 2) {
        uint32_t flags = 0;
        r.u32(flags);
        if (flags & ~kFlagSkipInvalid) return error("unknown flags in bundle");
        o.skip_invalid = (flags & kFlagSkipInvalid) != 0;
    }
    std::string digest;
    r.str(digest);
    SerializedDatabases dbs;
    if (r.count(n))
        for (uint32_t i = 0; i < n && r.ok; ++i) {
            uint32_t key = 0;
            std::string blob;
            if (r.u32(key) && r.str(blob) && key < 4 * kBufferCount)
                dbs[static_cast<uint16_t>(key)] = std::move(blob);
        }
    if (!r.ok || !r.done()) return error("truncated or damaged rule bundle");

    // Every input comes from the bundle: a file the set needs but the bundle lacks is an error
    // rather than a silent read of this host's disk.
    for (const auto& [name, df] : o.datasets)
        if (!o.files.count(df.path)) return error("bundle lacks dataset file " + df.path);
    if (!o.files.count(o.classification_file))
        return error("bundle lacks the classification table");
    o.files_only = true;  // rebuilt from what the bundle carries, never from this host's disk
    auto set = build_rule_set(sources, o);
    if (!set.set) {
        out.compiled.errors = std::move(set.errors);
        return out;
    }
    if (set.set->digest != digest) return error("bundle digest does not match its sources");
    if (trust == DatabaseTrust::Rebuild) {
        out.compiled = CompiledRules::compile(std::shared_ptr<const RuleSet>(std::move(set.set)));
        if (!dbs.empty() && out.compiled.rules) {
            out.compiled.databases_recompiled = dbs.size();
            out.compiled.recompile_reason =
                "prebuilt databases not trusted (no signature from a trusted key): compiled "
                "from the sources";
        }
        return out;
    }
    out.compiled = CompiledRules::compile(std::shared_ptr<const RuleSet>(std::move(set.set)), &dbs);
    return out;
}

}  // namespace sluice::rules
