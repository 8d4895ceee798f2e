// A rule set compiled for matching: per buffer, a Hyperscan literal database of each rule's
// fast pattern and a regex database for rules whose only positive condition is a pcre
// (exact where Hyperscan can express it, HS_FLAG_PREFILTER where it cannot); PCRE2 codes
// for confirmation. Immutable after compile and shared by all workers; each worker owns a
// Matcher (its Hyperscan scratch and PCRE2 match data).
//
// Matching is prefilter then confirm: Hyperscan names candidate rules in one pass over each
// buffer; every candidate is then evaluated exactly (header, flow, content chain with
// offset/depth/distance/within, pcre, datasets). Rules with nothing to prefilter on
// (negated contents only, datasets only, header only) are always candidates of their point.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rules/rule_set.h"

struct hs_database;
struct hs_scratch;
struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;

namespace sluice::rules {

struct HsDatabaseDeleter {
    void operator()(hs_database* db) const;
};
struct HsScratchDeleter {
    void operator()(hs_scratch* s) const;
};
struct Pcre2CodeDeleter {
    void operator()(pcre2_real_code_8* c) const;
};
using HsDatabasePtr = std::unique_ptr<hs_database, HsDatabaseDeleter>;
using HsScratchPtr = std::unique_ptr<hs_scratch, HsScratchDeleter>;
using Pcre2CodePtr = std::unique_ptr<pcre2_real_code_8, Pcre2CodeDeleter>;

// Who is talking to whom at an inspection point, in the rule header's terms.
struct MatchContext {
    IpAddress src, dst;
    uint16_t sport = 0, dport = 0;
    bool to_server = true;
    bool established = true;
};

// Header, ports and flow keywords (shared by both evaluators).
bool header_matches(const Rule& r, const MatchContext& ctx);
// The http2.* keywords against the transaction's frames (shared by both evaluators): the
// client's frames at the request point, the server's at the response point. A rule with any
// never matches a transaction without HTTP/2 facts.
bool http2_matches(const Rule& r, const BufferSet& bufs, bool to_server);
// A packet rule's protocol and header keywords against the packet's facts (shared by both
// evaluators); true for rules of other points.
bool packet_matches(const Rule& r, const BufferSet& bufs);
// The TLS keywords (tls.version, ssl_version, ssl_state) against the session's facts; true for
// rules without any.
bool tls_matches(const Rule& r, const BufferSet& bufs);

struct CompileStats {
    size_t literal_patterns = 0;
    size_t regex_patterns = 0;
    size_t prefilter_regexes = 0;  // compiled with HS_FLAG_PREFILTER (confirmed by PCRE2)
    size_t always_candidates = 0;
    size_t databases = 0;
    size_t database_bytes = 0;
    double compile_seconds = 0;
};

// Hyperscan databases in serialized form (hs_serialize_database), keyed by
// buffer * 4 + kind (0 literal, 1 regex, 2 streaming literal, 3 streaming regex).
using SerializedDatabases = std::map<uint16_t, std::string>;

class CompiledRules {
  public:
    struct Result {
        std::shared_ptr<const CompiledRules> rules;  // null on error
        std::vector<RuleError> errors;
        // With prebuilt databases: how many were loaded, and why any had to be compiled here
        // (a bundle from another Hyperscan version or CPU).
        size_t databases_loaded = 0;
        size_t databases_recompiled = 0;
        std::string recompile_reason;
    };
    // Compiles the set's databases; with `prebuilt`, deserializes them instead where this
    // host's Hyperscan accepts them (hs_serialized_database_info names what was refused).
    static Result compile(std::shared_ptr<const RuleSet> set,
                          const SerializedDatabases* prebuilt = nullptr);
    SerializedDatabases serialize() const;
    std::shared_ptr<const RuleSet> set_ptr() const { return set_; }

    ~CompiledRules();
    const RuleSet& set() const { return *set_; }
    const CompileStats& stats() const { return stats_; }
    // True if some rule inspects this point (callers skip building buffers otherwise).
    bool inspects(InspectPoint p) const { return point_rules_[static_cast<size_t>(p)] > 0; }
    bool uses_buffer(Buffer b) const { return buffer_used_[bidx(b)]; }

  private:
    friend class Matcher;
    CompiledRules() = default;

    struct BufferDbs {
        HsDatabasePtr literal;
        std::vector<uint32_t> literal_rule;  // pattern id -> rule index
        HsDatabasePtr regex;
        std::vector<uint32_t> regex_rule;
        HsDatabasePtr stream_literal;  // body buffers only: HS_MODE_STREAM twins
        HsDatabasePtr stream_regex;
    };
    struct Group {
        Buffer buffer;
        std::vector<uint16_t> conds;        // indices into Rule::conditions, in rule order
        std::vector<Transform> transforms;  // matched against the transformed buffer
    };
    struct Prepared {
        std::vector<Group> groups;
        std::vector<std::string> lowered;     // per condition: the nocase pattern, lower-cased
        std::vector<Pcre2CodePtr> pcre;       // per condition (null for non-pcre)
        std::vector<const Dataset*> dataset;  // per condition (null for non-dataset)
        bool exact_by_hs = false;             // the Hyperscan match alone decides
    };

    std::shared_ptr<const RuleSet> set_;
    std::vector<Prepared> prepared_;
    std::array<BufferDbs, kBufferCount> dbs_;
    std::array<std::vector<uint32_t>, kInspectPointCount> always_;
    std::array<size_t, kInspectPointCount> point_rules_{};
    std::array<bool, kBufferCount> buffer_used_{};
    HsScratchPtr scratch_;  // prototype, cloned per worker
    CompileStats stats_;
};

struct MatcherCounters {
    uint64_t scans = 0;
    uint64_t body_streams = 0;
    uint64_t body_streams_busy = 0;  // no free stream: the body is only block-scanned
    uint64_t candidates = 0;
    uint64_t matches = 0;
    uint64_t budget_exhausted = 0;  // a content chain or pcre hit its work limit: no match
    uint64_t scan_errors = 0;
};

// One per worker. match() allocates nothing once warmed up (vectors sized at construction).
class Matcher {
  public:
    static constexpr uint32_t kNoStream = 0xffffffffu;

    // body_streams: how many request and how many response bodies may be streamed at once.
    explicit Matcher(std::shared_ptr<const CompiledRules> rules, uint32_t body_streams = 0);
    ~Matcher();
    Matcher(const Matcher&) = delete;
    Matcher& operator=(const Matcher&) = delete;

    // Indices (into set().rules) of the rules that match, ascending. `streams` are body
    // streams (below) that end here: their matches join the candidates, and their buffer is
    // not scanned again unless a stream overflowed its candidate list.
    void match(InspectPoint point, const BufferSet& bufs, const MatchContext& ctx,
               std::vector<uint32_t>& out, std::span<const uint32_t> streams = {});

    // Body streams: Hyperscan streaming mode over an HTTP body as it arrives, so patterns are
    // found anywhere in the body, also beyond the part kept for confirmation (http.body_cap):
    // rules Hyperscan decides alone (one plain content, or one pcre it compiles exactly) match
    // there too; the others are confirmed on the kept part. kNoStream if no rule reads the
    // buffer or every stream is busy.
    uint32_t open_body_stream(Buffer b);
    void scan_body_stream(uint32_t id, std::span<const char> bytes);
    void discard_body_stream(uint32_t id);
    const CompiledRules& rules() const { return *rules_; }
    const MatcherCounters& counters() const { return ctr_; }

  private:
    friend struct MatcherAccess;
    bool confirm(uint32_t rule, const BufferSet& bufs, const MatchContext& ctx);
    bool chain(const CompiledRules::Prepared& p, const Rule& r, const CompiledRules::Group& g,
               size_t i, size_t prev_end, std::string_view data, uint32_t& budget);
    void add_candidate(uint32_t rule);

  public:
    struct BodyStream;  // defined in compiled_rules.cc

  private:
    void end_stream(BodyStream& s, bool report);

    std::shared_ptr<const CompiledRules> rules_;
    std::vector<std::unique_ptr<BodyStream>> streams_;
    hs_scratch* scratch_ = nullptr;
    pcre2_real_match_data_8* md_ = nullptr;
    pcre2_real_match_context_8* mctx_ = nullptr;
    std::vector<uint8_t> marked_;
    std::vector<uint32_t> candidates_;
    const std::vector<uint32_t>* id_map_ = nullptr;  // during a scan
    std::vector<char> transformed_;  // a group's transformed buffer (bounded, allocated once)
    std::vector<char> decoded_;      // base64_decode's output (bounded, allocated once)
    ByteValues vars_{};              // byte_extract / byte_math variables of the rule at hand
    MatcherCounters ctr_;
};

}  // namespace sluice::rules
