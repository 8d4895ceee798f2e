#include "rules/compiled_rules.h"

#include "rules/pcre_options.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

namespace sluice::rules {

void HsDatabaseDeleter::operator()(hs_database* db) const {
    hs_free_database(db);
}
void HsScratchDeleter::operator()(hs_scratch* s) const {
    hs_free_scratch(s);
}
void Pcre2CodeDeleter::operator()(pcre2_real_code_8* c) const {
    pcre2_code_free(c);
}

namespace {

// Work limits for hostile buffers: a content chain may try this many candidate positions,
// and a pcre this many backtracking steps, before the rule is declared not to match.
constexpr uint32_t kChainBudget = 1u << 16;
constexpr uint32_t kPcreMatchLimit = 200'000;
// A transformed buffer is cut here (header buffers are far smaller; bodies are not transformed).
constexpr size_t kTransformedCap = 65536;

unsigned hs_flags(const Pcre& p) {
    unsigned f = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    if (p.caseless) f |= HS_FLAG_CASELESS;
    if (p.dotall) f |= HS_FLAG_DOTALL;
    if (p.multiline) f |= HS_FLAG_MULTILINE;
    return f;
}

std::string hs_expression(const Pcre& p) {
    return p.extended ? "(?x)" + p.pattern : p.pattern;
}

bool hs_accepts(const std::string& expr, unsigned flags) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    const hs_error_t rc = hs_expression_info(expr.c_str(), flags, &info, &err);
    if (err) hs_free_compile_error(err);
    if (info) free(info);  // allocated by Hyperscan's misc allocator (malloc by default)
    return rc == HS_SUCCESS;
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// First occurrence of pat in data[from, to) (pat must end by `to`); npos if none.
size_t find_in(std::string_view data, std::string_view pat, bool nocase, size_t from, size_t to) {
    if (to > data.size()) to = data.size();
    if (from > to || to - from < pat.size()) return std::string_view::npos;
    if (!nocase) {
        const size_t r = data.substr(0, to).find(pat, from);
        return r;
    }
    const char first = pat[0];
    for (size_t i = from; i + pat.size() <= to; ++i) {
        if (lower(data[i]) != first) continue;
        size_t k = 1;
        while (k < pat.size() && lower(data[i + k]) == pat[k]) ++k;
        if (k == pat.size()) return i;
    }
    return std::string_view::npos;
}

}  // namespace

bool header_matches(const Rule& r, const MatchContext& ctx) {
    if (r.flow_to_server && !ctx.to_server) return false;
    if (r.flow_to_client && ctx.to_server) return false;
    if (r.flow_established && !ctx.established) return false;
    auto forward = [&] {
        return r.src.matches(ctx.src) && r.src_ports.matches(ctx.sport) && r.dst.matches(ctx.dst) &&
               r.dst_ports.matches(ctx.dport);
    };
    auto backward = [&] {
        return r.src.matches(ctx.dst) && r.src_ports.matches(ctx.dport) && r.dst.matches(ctx.src) &&
               r.dst_ports.matches(ctx.sport);
    };
    return forward() || (r.bidirectional && backward());
}

bool packet_matches(const Rule& r, const BufferSet& bufs) {
    if (r.point != InspectPoint::Packet) return true;
    if (bufs.packet == nullptr) return false;
    const PacketFacts& p = *bufs.packet;
    switch (r.proto) {
        case Protocol::Ip:
            break;
        case Protocol::Udp:
            if (p.proto != 17) return false;
            break;
        case Protocol::Icmp:
            if (!is_icmp(p)) return false;
            break;
        default:  // tcp and tcp-pkt: TCP packets only
            if (!p.tcp) return false;
    }
    for (const PacketCheck& c : r.packet)
        if (!c.holds(p)) return false;
    return true;
}

bool tls_matches(const Rule& r, const BufferSet& bufs) {
    if (r.tls.empty()) return true;
    if (bufs.tls == nullptr) return false;
    for (const TlsCheck& c : r.tls)
        if (!c.holds(*bufs.tls)) return false;
    return true;
}

bool http2_matches(const Rule& r, const BufferSet& bufs, bool to_server) {
    if (r.http2.empty()) return true;
    if (bufs.http2 == nullptr) return false;
    const Http2Facts& h = *bufs.http2;
    const size_t d = to_server ? 0 : 1;
    for (const Http2Check& c : r.http2) {
        bool ok = false;
        switch (c.kind) {
            case Http2Check::Kind::FrameType:
                ok = (h.frame_types[d] & h2_bit(c.id)) != 0;
                break;
            case Http2Check::Kind::ErrorCode:
                ok = (h.error_codes[d] & h2_bit(c.id)) != 0;
                break;
            case Http2Check::Kind::Setting:
                for (size_t i = 0; i < h.n_settings[d] && !ok; ++i)
                    ok = h.settings[d][i].id == c.id &&
                         (!c.cmp || c.cmp->matches(h.settings[d][i].value));
                break;
            case Http2Check::Kind::Window:
                for (size_t i = 0; i < h.n_windows[d] && !ok; ++i)
                    ok = c.cmp->matches(h.windows[d][i]);
                break;
        }
        if (!ok) return false;
    }
    return true;
}

CompiledRules::~CompiledRules() = default;

namespace {

// Loads a serialized database if this host's Hyperscan accepts it; else explains why not.
hs_database_t* load_prebuilt(const SerializedDatabases* prebuilt, uint16_t key, std::string& why) {
    if (prebuilt == nullptr) return nullptr;
    auto it = prebuilt->find(key);
    if (it == prebuilt->end()) {
        why = "bundle lacks a database";
        return nullptr;
    }
    hs_database_t* db = nullptr;
    const hs_error_t rc = hs_deserialize_database(it->second.data(), it->second.size(), &db);
    if (rc == HS_SUCCESS) return db;
    char* info = nullptr;
    std::string built = "unknown build";
    if (hs_serialized_database_info(it->second.data(), it->second.size(), &info) == HS_SUCCESS) {
        built = info;
        free(info);  // allocated by Hyperscan's misc allocator (malloc by default)
    }
    const char* what = rc == HS_DB_VERSION_ERROR    ? "another Hyperscan version"
                       : rc == HS_DB_PLATFORM_ERROR ? "another CPU platform"
                                                    : "an unreadable database";
    why = "bundle database (" + built + ") was built for " + what +
          "; it does not load on this host (Hyperscan " + hs_version() + "): compiled locally";
    return nullptr;
}

}  // namespace

SerializedDatabases CompiledRules::serialize() const {
    SerializedDatabases out;
    for (size_t b = 0; b < kBufferCount; ++b) {
        const hs_database_t* dbs[4] = {dbs_[b].literal.get(), dbs_[b].regex.get(),
                                       dbs_[b].stream_literal.get(), dbs_[b].stream_regex.get()};
        for (uint16_t kind = 0; kind < 4; ++kind) {
            if (dbs[kind] == nullptr) continue;
            char* bytes = nullptr;
            size_t len = 0;
            if (hs_serialize_database(dbs[kind], &bytes, &len) != HS_SUCCESS) continue;
            out.emplace(static_cast<uint16_t>(b * 4 + kind), std::string(bytes, len));
            free(bytes);
        }
    }
    return out;
}

CompiledRules::Result CompiledRules::compile(std::shared_ptr<const RuleSet> set,
                                             const SerializedDatabases* prebuilt) {
    const auto t0 = std::chrono::steady_clock::now();
    Result res;
    std::shared_ptr<CompiledRules> c(new CompiledRules());
    c->set_ = set;
    const auto& rules = set->rules;
    c->prepared_.resize(rules.size());

    struct Literal {
        std::string bytes;
        unsigned flags;
        uint32_t rule;
    };
    struct Regex {
        std::string expr;
        unsigned flags;
        uint32_t rule;
    };
    std::array<std::vector<Literal>, kBufferCount> literals;
    std::array<std::vector<Regex>, kBufferCount> regexes;

    for (uint32_t ri = 0; ri < rules.size(); ++ri) {
        const Rule& r = rules[ri];
        Prepared& p = c->prepared_[ri];
        ++c->point_rules_[static_cast<size_t>(r.point)];
        p.lowered.resize(r.conditions.size());
        p.pcre.resize(r.conditions.size());
        p.dataset.resize(r.conditions.size(), nullptr);
        for (uint16_t ci = 0; ci < r.conditions.size(); ++ci) {
            const Condition& cond = r.conditions[ci];
            c->buffer_used_[bidx(cond.buffer)] = true;
            auto g = std::find_if(p.groups.begin(), p.groups.end(),
                                  [&](const Group& x) { return x.buffer == cond.buffer; });
            if (g == p.groups.end()) {
                p.groups.push_back({cond.buffer, {}, cond.transforms});
                g = p.groups.end() - 1;
            }
            g->conds.push_back(ci);
            if (cond.kind == Condition::Kind::Content && cond.content.nocase) {
                std::string l = cond.content.bytes;
                for (char& ch : l) ch = lower(ch);
                p.lowered[ci] = std::move(l);
            }
            if (cond.kind == Condition::Kind::Pcre) {
                int ec = 0;
                PCRE2_SIZE eoff = 0;
                pcre2_code* code = pcre2_compile(
                    reinterpret_cast<PCRE2_SPTR>(cond.pcre.pattern.data()),
                    cond.pcre.pattern.size(), pcre2_options(cond.pcre), &ec, &eoff, nullptr);
                if (code == nullptr) {
                    PCRE2_UCHAR msg[256];
                    pcre2_get_error_message(ec, msg, sizeof msg);
                    res.errors.push_back({r.where, "pcre " + cond.pcre.source + ": " +
                                                       reinterpret_cast<const char*>(msg) +
                                                       " at pattern offset " +
                                                       std::to_string(eoff)});
                    continue;
                }
                pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // interpreter if JIT fails
                p.pcre[ci].reset(code);
            }
            if (cond.kind == Condition::Kind::Dataset) {
                auto it = set->datasets.find(cond.dataset.name);
                if (it != set->datasets.end()) p.dataset[ci] = it->second.get();
            }
        }

        // Fast pattern: the marked content, else the longest positive content; on a transformed
        // buffer, the literal the raw buffer must hold (rules/transform.h), if there is one.
        const Condition* fast = nullptr;
        std::optional<PrefilterLiteral> fast_lit;
        for (const Condition& cond : r.conditions) {
            if (cond.kind != Condition::Kind::Content || cond.content.negated || cond.decoded)
                continue;
            auto lit = prefilter_literal(cond.transforms, cond.content.bytes, cond.content.nocase);
            if (!lit) continue;
            if (cond.content.fast_pattern) {
                fast = &cond;
                fast_lit = std::move(lit);
                break;
            }
            if (fast == nullptr || lit->bytes.size() > fast_lit->bytes.size()) {
                fast = &cond;
                fast_lit = std::move(lit);
            }
        }
        if (fast != nullptr) {
            unsigned f = HS_FLAG_SINGLEMATCH;
            if (fast_lit->caseless) f |= HS_FLAG_CASELESS;
            literals[bidx(fast->buffer)].push_back({fast_lit->bytes, f, ri});
            // A lone content with no position constraint is decided by its literal match.
            const Content& k = fast->content;
            // (Not on a per-line buffer: the literal is scanned across its lines.)
            p.exact_by_hs = r.conditions.size() == 1 && !k.offset && !k.depth && !k.relative() &&
                            !k.endswith && fast->transforms.empty() && !per_line(fast->buffer);
            continue;
        }
        // Else the first positive, non-relative pcre.
        const Condition* re = nullptr;
        for (const Condition& cond : r.conditions)
            if (cond.kind == Condition::Kind::Pcre && !cond.pcre.negated && !cond.pcre.relative &&
                cond.transforms.empty() && !cond.decoded && !per_line(cond.buffer)) {
                re = &cond;
                break;
            }
        if (re != nullptr) {
            const std::string expr = hs_expression(re->pcre);
            unsigned f = hs_flags(re->pcre);
            bool exact = hs_accepts(expr, f);
            if (!exact) {
                f |= HS_FLAG_PREFILTER;
                if (!hs_accepts(expr, f)) re = nullptr;
            }
            if (re != nullptr) {
                regexes[bidx(re->buffer)].push_back({expr, f, ri});
                ++c->stats_.regex_patterns;
                if (!exact) ++c->stats_.prefilter_regexes;
                p.exact_by_hs = exact && r.conditions.size() == 1;
                continue;
            }
        }
        c->always_[static_cast<size_t>(r.point)].push_back(ri);
        ++c->stats_.always_candidates;
    }
    if (!res.errors.empty()) return res;

    // One database per (buffer, kind, mode): block mode for every buffer; stream mode too
    // for the body buffers, scanned chunk by chunk as bodies arrive (see Matcher::BodyStream).
    hs_scratch_t* scratch = nullptr;
    auto build = [&](size_t b, int kind, bool stream, HsDatabasePtr& slot,
                     std::vector<uint32_t>& id_map) {
        const bool lit = kind == 0;
        const size_t n = lit ? literals[b].size() : regexes[b].size();
        if (n == 0) return;
        std::vector<const char*> exprs;
        std::vector<size_t> lens;
        std::vector<unsigned> flags, ids;
        id_map.clear();
        for (uint32_t i = 0; i < n; ++i) {
            if (lit) {
                exprs.push_back(literals[b][i].bytes.data());
                lens.push_back(literals[b][i].bytes.size());
                flags.push_back(literals[b][i].flags);
                id_map.push_back(literals[b][i].rule);
            } else {
                exprs.push_back(regexes[b][i].expr.c_str());
                flags.push_back(regexes[b][i].flags);
                id_map.push_back(regexes[b][i].rule);
            }
            ids.push_back(i);
        }
        const uint16_t key = static_cast<uint16_t>(b * 4 + kind + (stream ? 2 : 0));
        std::string why;
        if (hs_database_t* pre = load_prebuilt(prebuilt, key, why)) {
            slot.reset(pre);
            ++res.databases_loaded;
        } else {
            if (prebuilt != nullptr) {
                ++res.databases_recompiled;
                res.recompile_reason = why;
            }
            hs_database_t* db = nullptr;
            hs_compile_error_t* err = nullptr;
            const unsigned mode = stream ? HS_MODE_STREAM : HS_MODE_BLOCK;
            const hs_error_t rc =
                lit ? hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                                           static_cast<unsigned>(n), mode, nullptr, &db, &err)
                    : hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                                       static_cast<unsigned>(n), mode, nullptr, &db, &err);
            if (rc != HS_SUCCESS) {
                const size_t which =
                    err && err->expression >= 0 ? static_cast<size_t>(err->expression) : 0;
                res.errors.push_back(
                    {rules[id_map[which]].where,
                     std::string("hyperscan: ") + (err ? err->message : "compile failed")});
                if (err) hs_free_compile_error(err);
                return;
            }
            slot.reset(db);
        }
        ++c->stats_.databases;
        size_t sz = 0;
        hs_database_size(slot.get(), &sz);
        c->stats_.database_bytes += sz;
        if (hs_alloc_scratch(slot.get(), &scratch) != HS_SUCCESS)
            res.errors.push_back({{"hyperscan", 0, 0}, "cannot allocate scratch space"});
    };
    for (size_t b = 0; b < kBufferCount; ++b) {
        BufferDbs& dbs = c->dbs_[b];
        build(b, 0, false, dbs.literal, dbs.literal_rule);
        build(b, 1, false, dbs.regex, dbs.regex_rule);
        c->stats_.literal_patterns += literals[b].size();
        const Buffer buf = static_cast<Buffer>(b);
        if (buf == Buffer::HttpRequestBody || buf == Buffer::HttpResponseBody) {
            // Same patterns, same ids: the id maps are the block ones.
            std::vector<uint32_t> ignore;
            build(b, 0, true, dbs.stream_literal, ignore);
            build(b, 1, true, dbs.stream_regex, ignore);
        }
    }
    c->scratch_.reset(scratch);
    if (!res.errors.empty()) return res;
    c->stats_.compile_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.rules = std::move(c);
    return res;
}

// --- Matcher ---------------------------------------------------------------------------------

struct Matcher::BodyStream {
    static constexpr size_t kMaxCandidates = 64;
    Buffer buffer = Buffer::Stream;
    hs_stream_t* lit = nullptr;
    hs_stream_t* re = nullptr;
    bool busy = false;
    bool overflow = false;
    std::vector<uint32_t> candidates;  // rule indices, capacity reserved up front
    Matcher* owner = nullptr;
    const std::vector<uint32_t>* id_map = nullptr;  // during a scan
};

namespace {
int on_stream_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
    auto* s = static_cast<Matcher::BodyStream*>(ctx);
    // Ids come from the database: checked even though only verified or locally built
    // databases are loaded (defence in depth against a crafted one).
    if (id >= s->id_map->size()) return 0;
    const uint32_t rule = (*s->id_map)[id];
    for (uint32_t c : s->candidates)
        if (c == rule) return 0;
    if (s->candidates.size() == Matcher::BodyStream::kMaxCandidates) {
        s->overflow = true;
        return 0;
    }
    s->candidates.push_back(rule);
    return 0;
}
}  // namespace

Matcher::Matcher(std::shared_ptr<const CompiledRules> rules, uint32_t body_streams)
    : rules_(std::move(rules)), transformed_(kTransformedCap), decoded_(kBase64DecodedCap) {
    if (rules_->scratch_) hs_clone_scratch(rules_->scratch_.get(), &scratch_);
    for (Buffer b : {Buffer::HttpRequestBody, Buffer::HttpResponseBody}) {
        const auto& dbs = rules_->dbs_[bidx(b)];
        if (!dbs.stream_literal && !dbs.stream_regex) continue;
        for (uint32_t i = 0; i < body_streams; ++i) {
            auto s = std::make_unique<BodyStream>();
            s->buffer = b;
            s->owner = this;
            s->candidates.reserve(BodyStream::kMaxCandidates);
            if (dbs.stream_literal) hs_open_stream(dbs.stream_literal.get(), 0, &s->lit);
            if (dbs.stream_regex) hs_open_stream(dbs.stream_regex.get(), 0, &s->re);
            streams_.push_back(std::move(s));
        }
    }
    md_ = pcre2_match_data_create(32, nullptr);
    mctx_ = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(mctx_, kPcreMatchLimit);
    const size_t n = rules_->set_->rules.size();
    marked_.assign(n, 0);
    candidates_.reserve(n);
}

Matcher::~Matcher() {
    for (auto& s : streams_) {
        if (s->lit) hs_close_stream(s->lit, scratch_, nullptr, nullptr);
        if (s->re) hs_close_stream(s->re, scratch_, nullptr, nullptr);
    }
    if (scratch_) hs_free_scratch(scratch_);
    pcre2_match_data_free(md_);
    pcre2_match_context_free(mctx_);
}

void Matcher::add_candidate(uint32_t rule) {
    if (marked_[rule]) return;
    marked_[rule] = 1;
    candidates_.push_back(rule);
}

namespace {
int on_hs_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx);
}

struct MatcherAccess {
    static void add(Matcher& m, unsigned id) {
        if (id < m.id_map_->size()) m.add_candidate((*m.id_map_)[id]);  // see on_stream_match
    }
};

namespace {
int on_hs_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
    MatcherAccess::add(*static_cast<Matcher*>(ctx), id);
    return 0;
}
}  // namespace

uint32_t Matcher::open_body_stream(Buffer b) {
    bool any = false;
    for (uint32_t i = 0; i < streams_.size(); ++i) {
        BodyStream& s = *streams_[i];
        if (s.buffer != b) continue;
        any = true;
        if (s.busy) continue;
        s.busy = true;
        s.overflow = false;
        s.candidates.clear();
        ++ctr_.body_streams;
        return i;
    }
    if (any) ++ctr_.body_streams_busy;
    return kNoStream;
}

void Matcher::scan_body_stream(uint32_t id, std::span<const char> bytes) {
    if (id >= streams_.size() || bytes.empty()) return;
    BodyStream& s = *streams_[id];
    const auto& dbs = rules_->dbs_[bidx(s.buffer)];
    if (s.lit) {
        s.id_map = &dbs.literal_rule;
        if (hs_scan_stream(s.lit, bytes.data(), static_cast<unsigned>(bytes.size()), 0, scratch_,
                           on_stream_match, &s) != HS_SUCCESS)
            ++ctr_.scan_errors;
    }
    if (s.re) {
        s.id_map = &dbs.regex_rule;
        if (hs_scan_stream(s.re, bytes.data(), static_cast<unsigned>(bytes.size()), 0, scratch_,
                           on_stream_match, &s) != HS_SUCCESS)
            ++ctr_.scan_errors;
    }
}

// Resets the stream for reuse; with `report`, end-of-data matches (`$`) are collected first.
void Matcher::end_stream(BodyStream& s, bool report) {
    const auto& dbs = rules_->dbs_[bidx(s.buffer)];
    if (s.lit) {
        s.id_map = &dbs.literal_rule;
        hs_reset_stream(s.lit, 0, scratch_, report ? on_stream_match : nullptr, &s);
    }
    if (s.re) {
        s.id_map = &dbs.regex_rule;
        hs_reset_stream(s.re, 0, scratch_, report ? on_stream_match : nullptr, &s);
    }
    s.busy = false;
}

void Matcher::discard_body_stream(uint32_t id) {
    if (id < streams_.size() && streams_[id]->busy) end_stream(*streams_[id], false);
}

void Matcher::match(InspectPoint point, const BufferSet& bufs, const MatchContext& ctx,
                    std::vector<uint32_t>& out, std::span<const uint32_t> streams) {
    out.clear();
    const size_t pi = static_cast<size_t>(point);
    std::array<bool, kBufferCount> streamed{};
    candidates_.clear();
    for (uint32_t id : streams) {
        if (id >= streams_.size() || !streams_[id]->busy) continue;
        BodyStream& s = *streams_[id];
        end_stream(s, true);
        for (uint32_t r : s.candidates) add_candidate(r);
        streamed[bidx(s.buffer)] = !s.overflow;
    }
    if (rules_->point_rules_[pi] == 0) {
        for (uint32_t r : candidates_) marked_[r] = 0;
        return;
    }
    ++ctr_.scans;
    static constexpr char kEmpty[1] = {0};
    for (size_t b = 0; b < kBufferCount; ++b) {
        if (!bufs.present[b] || streamed[b] || inspect_point(static_cast<Buffer>(b)) != point)
            continue;
        const auto& dbs = rules_->dbs_[b];
        const std::string_view v = bufs.value[b];
        const char* data = v.empty() ? kEmpty : v.data();
        if (dbs.literal) {
            id_map_ = &dbs.literal_rule;
            if (hs_scan(dbs.literal.get(), data, static_cast<unsigned>(v.size()), 0, scratch_,
                        on_hs_match, this) != HS_SUCCESS)
                ++ctr_.scan_errors;
        }
        if (dbs.regex) {
            id_map_ = &dbs.regex_rule;
            if (hs_scan(dbs.regex.get(), data, static_cast<unsigned>(v.size()), 0, scratch_,
                        on_hs_match, this) != HS_SUCCESS)
                ++ctr_.scan_errors;
        }
    }
    for (uint32_t r : rules_->always_[pi]) add_candidate(r);
    std::sort(candidates_.begin(), candidates_.end());
    ctr_.candidates += candidates_.size();
    for (uint32_t r : candidates_) {
        marked_[r] = 0;
        if (confirm(r, bufs, ctx)) out.push_back(r);
    }
    ctr_.matches += out.size();
}

bool Matcher::confirm(uint32_t ri, const BufferSet& bufs, const MatchContext& ctx) {
    const Rule& r = rules_->set_->rules[ri];
    if (!header_matches(r, ctx) || !http2_matches(r, bufs, ctx.to_server) ||
        !packet_matches(r, bufs) || !tls_matches(r, bufs))
        return false;
    const CompiledRules::Prepared& p = rules_->prepared_[ri];
    if (p.exact_by_hs) return true;
    for (const CompiledRules::Group& g : p.groups) {
        if (!bufs.present[bidx(g.buffer)]) return false;
        uint32_t budget = kChainBudget;
        const std::string_view whole = bufs.value[bidx(g.buffer)];
        // A per-line buffer: the group must hold within one line (one budget for them all).
        bool matched = false;
        size_t at = 0;
        do {
            std::string_view data = whole;
            if (per_line(g.buffer)) {
                const size_t eol = whole.find("\r\n", at);
                const size_t stop = eol == std::string_view::npos ? whole.size() : eol;
                data = whole.substr(at, stop - at);
                at = eol == std::string_view::npos ? whole.size() : eol + 2;
            }
            if (!g.transforms.empty())
                data = {transformed_.data(), apply_transforms(g.transforms, data, transformed_)};
            matched = chain(p, r, g, 0, 0, data, budget);
        } while (!matched && per_line(g.buffer) && at < whole.size() && budget > 0);
        if (!matched) {
            if (budget == 0) ++ctr_.budget_exhausted;
            return false;
        }
    }
    return true;
}

bool Matcher::chain(const CompiledRules::Prepared& p, const Rule& r, const CompiledRules::Group& g,
                    size_t i, size_t prev_end, std::string_view data, uint32_t& budget) {
    if (i == g.conds.size()) return true;
    if (budget == 0) return false;
    --budget;
    const uint16_t ci = g.conds[i];
    const Condition& cond = r.conditions[ci];
    switch (cond.kind) {
        case Condition::Kind::Content: {
            const Content& c = cond.content;
            const std::string_view pat = c.nocase ? std::string_view(p.lowered[ci]) : c.bytes;
            int64_t lo = 0, hi = static_cast<int64_t>(data.size());
            if (c.relative()) {
                lo = static_cast<int64_t>(prev_end) +
                     resolve(c.distance.value_or(0), c.distance_var, vars_);
                if (c.within) hi = std::min(hi, lo + resolve(*c.within, c.within_var, vars_));
                if (lo < 0) lo = 0;
            } else {
                if (c.offset) lo = resolve(*c.offset, c.offset_var, vars_);
                if (c.depth) hi = std::min(hi, lo + resolve(*c.depth, c.depth_var, vars_));
            }
            if (c.endswith) {
                // The one place it can be: ending at the buffer's end, inside the window.
                const int64_t end = static_cast<int64_t>(data.size());
                if (hi < end) lo = hi + 1;  // the window stops short of the end: nowhere
                lo = std::max(lo, end - static_cast<int64_t>(pat.size()));
            }
            if (lo > hi) return c.negated && chain(p, r, g, i + 1, prev_end, data, budget);
            size_t from = static_cast<size_t>(lo);
            const size_t to = static_cast<size_t>(hi);
            if (c.negated) {
                if (find_in(data, pat, c.nocase, from, to) != std::string_view::npos) return false;
                return chain(p, r, g, i + 1, prev_end, data, budget);
            }
            while (budget > 0) {
                const size_t at = find_in(data, pat, c.nocase, from, to);
                if (at == std::string_view::npos) return false;
                if (chain(p, r, g, i + 1, at + pat.size(), data, budget)) return true;
                // A deeper step may have spent it all (a pcre's match limit, a decode): stop
                // here, never wrap around to an unbounded budget.
                if (budget == 0) return false;
                --budget;
                from = at + 1;
            }
            return false;
        }
        case Condition::Kind::Pcre: {
            const Pcre& pc = cond.pcre;
            const size_t start = pc.relative ? std::min(prev_end, data.size()) : 0;
            const std::string_view subject = data.substr(start);
            static constexpr char kEmpty[1] = {0};
            const int rc =
                pcre2_match(p.pcre[ci].get(),
                            reinterpret_cast<PCRE2_SPTR>(subject.empty() ? kEmpty : subject.data()),
                            subject.size(), 0, 0, md_, mctx_);
            if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) {
                budget = 0;
                return false;
            }
            const bool hit = rc >= 0;
            if (pc.negated) return !hit && chain(p, r, g, i + 1, prev_end, data, budget);
            if (!hit) return false;
            const size_t end = start + pcre2_get_ovector_pointer(md_)[1];
            return chain(p, r, g, i + 1, end, data, budget);
        }
        case Condition::Kind::Dataset: {
            const bool in = p.dataset[ci] != nullptr && p.dataset[ci]->contains(data);
            const bool want = cond.dataset.op == DatasetOp::IsSet;
            return in == want && chain(p, r, g, i + 1, prev_end, data, budget);
        }
        case Condition::Kind::Size:
            return cond.size.matches(data.size()) && chain(p, r, g, i + 1, prev_end, data, budget);
        case Condition::Kind::ByteTest: {
            const ByteOp& b = cond.byte;
            const int64_t pos = byte_position(b, prev_end, vars_);
            if (pos < 0) return false;
            const auto v = read_number(b, data, static_cast<size_t>(pos));
            return v && byte_test_holds(b, *v, vars_) &&
                   chain(p, r, g, i + 1, prev_end, data, budget);
        }
        case Condition::Kind::ByteJump: {
            const auto next = byte_jump_target(cond.byte, data, prev_end, vars_);
            return next && chain(p, r, g, i + 1, *next, data, budget);
        }
        case Condition::Kind::ByteExtract:
        case Condition::Kind::ByteMath: {
            // A variable is read only by later conditions, and backtracking to an earlier one
            // re-runs this one first: one slot per variable, overwritten, is enough.
            const auto got = cond.kind == Condition::Kind::ByteExtract
                                 ? byte_extract(cond.byte, data, prev_end, vars_)
                                 : byte_math(cond.byte, data, prev_end, vars_);
            if (!got) return false;
            vars_[static_cast<size_t>(cond.byte.result)] = got->value;
            return chain(p, r, g, i + 1, got->end, data, budget);
        }
        case Condition::Kind::Base64Decode: {
            // The conditions after base64_data match the decoded bytes from their start; as in
            // Suricata the decoded list is terminal (the parser puts nothing after it).
            // A decode costs in proportion to what it reads: many places to decode from (a
            // relative decode after a content found many times) would otherwise cost the
            // buffer's size once per place. One budget step per 64 input bytes.
            const size_t from = cond.base64.relative ? std::min(prev_end, data.size()) : 0;
            const uint32_t cost =
                static_cast<uint32_t>(std::min<size_t>(data.size() - from, cond.base64.bytes) / 64);
            if (cost >= budget) {
                budget = 0;
                return false;
            }
            budget -= cost;
            const size_t n = base64_decode_at(cond.base64, data, prev_end, decoded_);
            if (n == 0) return false;
            return chain(p, r, g, i + 1, 0, {decoded_.data(), n}, budget);
        }
        case Condition::Kind::DataAt: {
            // Suricata's semantics: relative asks that N more bytes follow the previous match
            // (end + N <= size), absolute that a byte exists at N (N < size).
            const DataAt& d = cond.data_at;
            const uint64_t at = static_cast<uint64_t>(resolve(d.at, d.at_var, vars_));
            const bool there = d.relative ? prev_end + at <= data.size() : at < data.size();
            return there != d.negated && chain(p, r, g, i + 1, prev_end, data, budget);
        }
    }
    return false;
}

}  // namespace sluice::rules
