#include "rules/reference_evaluator.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>
#include <set>

namespace sluice::rules {

ReferenceEvaluator::ReferenceEvaluator(std::shared_ptr<const RuleSet> set) : set_(std::move(set)) {
    md_ = pcre2_match_data_create(32, nullptr);
    for (const Rule& r : set_->rules) {
        auto& codes = pcre_.emplace_back();
        for (const Condition& c : r.conditions) {
            codes.emplace_back();
            if (c.kind != Condition::Kind::Pcre) continue;
            uint32_t o = 0;
            if (c.pcre.caseless) o |= PCRE2_CASELESS;
            if (c.pcre.dotall) o |= PCRE2_DOTALL;
            if (c.pcre.multiline) o |= PCRE2_MULTILINE;
            if (c.pcre.extended) o |= PCRE2_EXTENDED;
            int ec;
            PCRE2_SIZE eo;
            codes.back().reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(c.pcre.pattern.data()),
                                             c.pcre.pattern.size(), o, &ec, &eo, nullptr));
        }
    }
}

ReferenceEvaluator::~ReferenceEvaluator() {
    pcre2_match_data_free(md_);
}

void ReferenceEvaluator::match(InspectPoint point, const BufferSet& bufs, const MatchContext& ctx,
                               std::vector<uint32_t>& out) const {
    out.clear();
    for (uint32_t ri = 0; ri < set_->rules.size(); ++ri) {
        const Rule& r = set_->rules[ri];
        if (r.point != point || !header_matches(r, ctx) || !http2_matches(r, bufs, ctx.to_server) ||
            !packet_matches(r, bufs) || !tls_matches(r, bufs))
            continue;
        if (rule_matches(ri, bufs)) out.push_back(ri);
    }
}

namespace {
bool bytes_equal_at(std::string_view data, size_t at, const std::string& pat, bool nocase) {
    if (at + pat.size() > data.size()) return false;
    for (size_t k = 0; k < pat.size(); ++k) {
        const unsigned char a = static_cast<unsigned char>(data[at + k]);
        const unsigned char b = static_cast<unsigned char>(pat[k]);
        if (nocase ? std::tolower(a) != std::tolower(b) : a != b) return false;
    }
    return true;
}
}  // namespace

namespace {
// One way the conditions so far can have matched: where the last match ended, the variables
// it extracted, and (after base64_data) the decoded bytes the rest of the chain reads.
struct State {
    size_t end = 0;
    ByteValues vars{};
    bool decoded = false;
    std::string dec;
    auto operator<=>(const State&) const = default;
};
}  // namespace

bool ReferenceEvaluator::rule_matches(uint32_t ri, const BufferSet& bufs) const {
    const Rule& r = set_->rules[ri];
    for (size_t b = 0; b < kBufferCount; ++b) {
        bool used = false;
        for (const Condition& c : r.conditions) used = used || bidx(c.buffer) == b;
        if (!used) continue;
        if (!bufs.present[b]) return false;
        // A per-line buffer is several instances; the conditions must hold in one of them.
        std::vector<std::string_view> instances;
        const std::string_view whole = bufs.value[b];
        if (per_line(static_cast<Buffer>(b))) {
            size_t at = 0;
            while (at < whole.size()) {
                const size_t eol = whole.find("\r\n", at);
                const size_t stop = eol == std::string_view::npos ? whole.size() : eol;
                instances.push_back(whole.substr(at, stop - at));
                at = eol == std::string_view::npos ? whole.size() : eol + 2;
            }
        } else {
            instances.push_back(whole);
        }
        bool any = false;
        for (std::string_view inst : instances) any = any || group_matches(ri, b, inst);
        if (!any) return false;
    }
    return true;
}

bool ReferenceEvaluator::group_matches(uint32_t ri, size_t b, std::string_view value) const {
    const Rule& r = set_->rules[ri];
    std::set<State> states{State{}};
    for (size_t ci = 0; ci < r.conditions.size(); ++ci) {
        const Condition& c = r.conditions[ci];
        if (bidx(c.buffer) != b) continue;
        // The buffer as the rule's transforms make it (a fresh copy: the reference keeps
        // nothing between calls).
        std::string transformed(value.size() * 2 + 1, '\0');
        const std::string_view raw =
            c.transforms.empty()
                ? value
                : std::string_view(transformed.data(),
                                   apply_transforms(c.transforms, value, transformed));
        std::set<State> next;
        for (const State& st : states) {
            const std::string_view data = st.decoded ? std::string_view(st.dec) : raw;
            const size_t prev = st.end;
            auto go = [&](size_t end) {
                State n = st;
                n.end = end;
                next.insert(std::move(n));
            };
            auto var = [&](int64_t lit, ByteVar v) { return resolve(lit, v, st.vars); };
            if (c.kind == Condition::Kind::Content) {
                const Content& k = c.content;
                bool found = false;
                for (size_t s = 0; s + k.bytes.size() <= data.size(); ++s) {
                    const int64_t start = static_cast<int64_t>(s);
                    const int64_t end = start + static_cast<int64_t>(k.bytes.size());
                    if (k.relative()) {
                        const int64_t base = static_cast<int64_t>(prev) +
                                             var(k.distance.value_or(0), k.distance_var);
                        if (start < base) continue;
                        if (k.within && end > base + var(*k.within, k.within_var)) continue;
                    } else {
                        const int64_t off = k.offset ? var(*k.offset, k.offset_var) : 0;
                        if (start < off) continue;
                        if (k.depth && end > off + var(*k.depth, k.depth_var)) continue;
                    }
                    if (k.endswith && static_cast<size_t>(end) != data.size()) continue;
                    if (!bytes_equal_at(data, s, k.bytes, k.nocase)) continue;
                    found = true;
                    if (!k.negated) go(static_cast<size_t>(end));
                }
                if (k.negated && !found) go(prev);
            } else if (c.kind == Condition::Kind::Pcre) {
                const size_t start = c.pcre.relative ? std::min(prev, data.size()) : 0;
                const std::string_view subject = data.substr(start);
                static constexpr char kEmpty[1] = {0};
                const int rc = pcre2_match(
                    pcre_[ri][ci].get(),
                    reinterpret_cast<PCRE2_SPTR>(subject.empty() ? kEmpty : subject.data()),
                    subject.size(), 0, 0, md_, nullptr);
                if (c.pcre.negated) {
                    if (rc < 0) go(prev);
                } else if (rc >= 0) {
                    go(start + pcre2_get_ovector_pointer(md_)[1]);
                }
            } else if (c.kind == Condition::Kind::Size) {
                if (c.size.matches(data.size())) go(prev);
            } else if (c.kind == Condition::Kind::ByteTest) {
                const int64_t pos = byte_position(c.byte, prev, st.vars);
                if (pos >= 0) {
                    const auto v = read_number(c.byte, data, static_cast<size_t>(pos));
                    if (v && byte_test_holds(c.byte, *v, st.vars)) go(prev);
                }
            } else if (c.kind == Condition::Kind::ByteJump) {
                if (const auto to = byte_jump_target(c.byte, data, prev, st.vars)) go(*to);
            } else if (c.kind == Condition::Kind::ByteExtract ||
                       c.kind == Condition::Kind::ByteMath) {
                const auto got = c.kind == Condition::Kind::ByteExtract
                                     ? byte_extract(c.byte, data, prev, st.vars)
                                     : byte_math(c.byte, data, prev, st.vars);
                if (got) {
                    State n = st;
                    n.end = got->end;
                    n.vars[static_cast<size_t>(c.byte.result)] = got->value;
                    next.insert(std::move(n));
                }
            } else if (c.kind == Condition::Kind::Base64Decode) {
                std::string out(kBase64DecodedCap, '\0');
                const size_t n = base64_decode_at(c.base64, data, prev, out);
                if (n > 0) {
                    State d = st;
                    d.end = 0;
                    d.decoded = true;
                    d.dec = out.substr(0, n);
                    next.insert(std::move(d));
                }
            } else if (c.kind == Condition::Kind::DataAt) {
                const uint64_t at = static_cast<uint64_t>(var(c.data_at.at, c.data_at.at_var));
                const bool there = c.data_at.relative ? prev + at <= data.size() : at < data.size();
                if (there != c.data_at.negated) go(prev);
            } else {
                auto it = set_->datasets.find(c.dataset.name);
                const bool in = it != set_->datasets.end() && it->second->contains(data);
                if (in == (c.dataset.op == DatasetOp::IsSet)) go(prev);
            }
        }
        states = std::move(next);
        if (states.empty()) return false;
    }
    return true;
}

}  // namespace sluice::rules
