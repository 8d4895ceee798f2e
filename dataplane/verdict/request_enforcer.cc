#include "verdict/request_enforcer.h"

#include <cmath>

#include "account/account_state.h"
#include "common/hash.h"

namespace sluice {

RequestEnforcer::Outcome RequestEnforcer::apply(Flow& f, Transaction& t, uint64_t now_ns) {
    // A decision stops the request: the packet completing it is dropped, so the server never
    // acts on it; the client is answered 403/429 (answer/answer_sender.h) or reset, as the
    // decision's http_status says (0: reset).
    const EnforcementTable* table = slot_ != nullptr ? slot_->current() : nullptr;
    if (table == nullptr || table->empty()) return Outcome::None;
    const uint64_t acct = t.account.present() ? account_key(t.account.id_view()) : 0;
    const Enforcement* e = table->find(acct, f.client().addr, t.ja4_hash, now_ns);
    if (e == nullptr || e->allow) return Outcome::None;  // allowlisted: nothing applies
    Outcome out;
    if (e->verdict == Verdict::RateLimit) {
        // One bucket per subject of the decision.
        uint64_t subject = e->bucket != 0 ? e->bucket : acct;
        if (e->bucket == 0 && e->target == EnforceTarget::Ja4) subject = t.ja4_hash;
        if (e->bucket == 0 && e->target == EnforceTarget::Prefix) {
            const IpAddress p = account::network_prefix(f.client().addr);
            subject = hash_bytes(p.span(), 0x70);
        }
        if (limiter_.admit(subject, e->rate_per_minute, now_ns)) return Outcome::Admitted;
        f.verdict.merge(Verdict::Reject);
        t.retry_after_s = static_cast<uint32_t>(std::ceil(limiter_.last_wait_s()));
        out = Outcome::RateLimited;
    } else if (e->verdict >= Verdict::Drop) {
        f.verdict.merge(e->verdict);
        out = Outcome::Blocked;
    } else {
        return Outcome::None;
    }
    t.enforced = e->verdict;
    t.enforced_target = e->target;
    t.enforced_status = e->http_status;
    return out;
}

}  // namespace sluice
