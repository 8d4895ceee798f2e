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
            !packet_matches(r, bufs))
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

bool ReferenceEvaluator::rule_matches(uint32_t ri, const BufferSet& bufs) const {
    const Rule& r = set_->rules[ri];
    for (size_t b = 0; b < kBufferCount; ++b) {
        // The conditions on buffer b, in order, advance a set of reachable match ends.
        std::set<size_t> ends{0};
        bool any = false;
        for (size_t ci = 0; ci < r.conditions.size(); ++ci) {
            const Condition& c = r.conditions[ci];
            if (bidx(c.buffer) != b) continue;
            if (!any && !bufs.present[b]) return false;
            any = true;
            // The buffer as the rule's transforms make it (a fresh copy: the reference keeps
            // nothing between calls).
            std::string transformed(bufs.value[b].size() * 2 + 1, '\0');
            const std::string_view data =
                c.transforms.empty()
                    ? bufs.value[b]
                    : std::string_view(transformed.data(),
                                       apply_transforms(c.transforms, bufs.value[b], transformed));
            std::set<size_t> next;
            for (size_t prev : ends) {
                if (c.kind == Condition::Kind::Content) {
                    const Content& k = c.content;
                    bool found = false;
                    for (size_t s = 0; s + k.bytes.size() <= data.size(); ++s) {
                        const int64_t start = static_cast<int64_t>(s);
                        const int64_t end = start + static_cast<int64_t>(k.bytes.size());
                        if (k.relative()) {
                            const int64_t base =
                                static_cast<int64_t>(prev) + k.distance.value_or(0);
                            if (start < base) continue;
                            if (k.within && end > base + *k.within) continue;
                        } else {
                            if (k.offset && start < *k.offset) continue;
                            if (k.depth && end > k.offset.value_or(0) + *k.depth) continue;
                        }
                        if (k.endswith && static_cast<size_t>(end) != data.size()) continue;
                        if (!bytes_equal_at(data, s, k.bytes, k.nocase)) continue;
                        found = true;
                        if (!k.negated) next.insert(static_cast<size_t>(end));
                    }
                    if (k.negated && !found) next.insert(prev);
                } else if (c.kind == Condition::Kind::Pcre) {
                    const size_t start = c.pcre.relative ? std::min(prev, data.size()) : 0;
                    const std::string_view subject = data.substr(start);
                    static constexpr char kEmpty[1] = {0};
                    const int rc = pcre2_match(
                        pcre_[ri][ci].get(),
                        reinterpret_cast<PCRE2_SPTR>(subject.empty() ? kEmpty : subject.data()),
                        subject.size(), 0, 0, md_, nullptr);
                    if (c.pcre.negated) {
                        if (rc < 0) next.insert(prev);
                    } else if (rc >= 0) {
                        next.insert(start + pcre2_get_ovector_pointer(md_)[1]);
                    }
                } else if (c.kind == Condition::Kind::Size) {
                    if (c.size.matches(data.size())) next.insert(prev);
                } else if (c.kind == Condition::Kind::ByteTest) {
                    const int64_t pos =
                        (c.byte.relative ? static_cast<int64_t>(prev) : 0) + c.byte.offset;
                    if (pos >= 0) {
                        const auto v = read_number(c.byte, data, static_cast<size_t>(pos));
                        if (v && byte_test_holds(c.byte, *v)) next.insert(prev);
                    }
                } else if (c.kind == Condition::Kind::ByteJump) {
                    if (const auto to = byte_jump_target(c.byte, data, prev)) next.insert(*to);
                } else if (c.kind == Condition::Kind::DataAt) {
                    const bool there = c.data_at.relative ? prev + c.data_at.at <= data.size()
                                                          : c.data_at.at < data.size();
                    if (there != c.data_at.negated) next.insert(prev);
                } else {
                    auto it = set_->datasets.find(c.dataset.name);
                    const bool in = it != set_->datasets.end() && it->second->contains(data);
                    if (in == (c.dataset.op == DatasetOp::IsSet)) next.insert(prev);
                }
            }
            ends = std::move(next);
            if (ends.empty()) return false;
        }
    }
    return true;
}

}  // namespace sluice::rules
